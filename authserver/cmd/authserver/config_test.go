package main

import (
	"strings"
	"testing"
	"time"
)

func TestRefreshReuseGrace(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        time.Duration
		err         string
	}{
		{"default", "", 2 * time.Second, ""},
		{"set", "500ms", 500 * time.Millisecond, ""},
		{"off", "0s", 0, ""},
		{"a minute at most", "2m", 0, "REFRESH_REUSE_GRACE"},
		{"negative", "-1s", 0, "REFRESH_REUSE_GRACE"},
		{"not a duration", "soon", 0, "REFRESH_REUSE_GRACE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig(func(k string) string {
				if k == "REFRESH_REUSE_GRACE" {
					return tc.value
				}
				return ""
			})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil || c.RefreshReuseGrace != tc.want {
				t.Fatalf("grace = %v, err = %v; want %v", c.RefreshReuseGrace, err, tc.want)
			}
		})
	}
}
