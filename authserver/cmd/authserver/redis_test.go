package main

import (
	"strings"
	"testing"
	"time"
)

func TestEmbeddedConfig(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		addr     string
		path     string
		interval time.Duration
		err      string
	}{
		{"defaults", nil, defaultEmbeddedRedisAddr, defaultSnapshotPath, 30 * time.Second, ""},
		{"all set", map[string]string{"EMBEDDED_REDIS_ADDR": "127.0.0.1:7777", "EMBEDDED_REDIS_SNAPSHOT": "/var/lib/p/r.snap", "EMBEDDED_REDIS_SNAPSHOT_INTERVAL": "5s"},
			"127.0.0.1:7777", "/var/lib/p/r.snap", 5 * time.Second, ""},
		{"snapshot off", map[string]string{"EMBEDDED_REDIS_SNAPSHOT": "off"}, defaultEmbeddedRedisAddr, "", 30 * time.Second, ""},
		{"interval too short", map[string]string{"EMBEDDED_REDIS_SNAPSHOT_INTERVAL": "10ms"}, "", "", 0, "EMBEDDED_REDIS_SNAPSHOT_INTERVAL"},
		{"interval not a duration", map[string]string{"EMBEDDED_REDIS_SNAPSHOT_INTERVAL": "often"}, "", "", 0, "EMBEDDED_REDIS_SNAPSHOT_INTERVAL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := embeddedConfig(func(k string) string { return tc.env[k] })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil || c.Addr != tc.addr || c.SnapshotPath != tc.path || c.Interval != tc.interval {
				t.Fatalf("got %+v, %v", c, err)
			}
		})
	}
}
