package main

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	c, err := LoadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Port: 8001, LogLevel: slog.LevelInfo, LogFormat: "json",
		AuthServerURL: "http://localhost:8000", IntrospectionURL: "http://localhost:8000/o/introspect/",
		ClientID: "rs-id", ClientSecret: "rs-secret",
		ShutdownTimeout: 20 * time.Second, IntrospectionMaxTTL: 5 * time.Minute,
	}
	if c != want {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		check   func(Config) bool
		wantErr string
	}{
		{"introspection URL follows AUTH_SERVER_URL", map[string]string{"AUTH_SERVER_URL": "https://auth.example/"},
			func(c Config) bool {
				return c.AuthServerURL == "https://auth.example" && c.IntrospectionURL == "https://auth.example/o/introspect/"
			}, ""},
		{"explicit values", map[string]string{"PORT": "0", "LOG_LEVEL": "debug", "DATABASE_URL": "sqlite:/tmp/x.db",
			"REDIS_URL": "redis://127.0.0.1:6379/0", "REDIS_PREFIX": "p:", "INTROSPECTION_URL": "http://a/i/",
			"INTROSPECTION_CLIENT_ID": "id", "INTROSPECTION_CLIENT_SECRET": "sec", "INTROSPECTION_TOKEN": "tok",
			"SHUTDOWN_TIMEOUT": "3s", "INTROSPECTION_CACHE_TTL": "1m"},
			func(c Config) bool {
				return c.Port == 0 && c.LogLevel == slog.LevelDebug && c.DatabaseURL == "sqlite:/tmp/x.db" &&
					c.RedisPrefix == "p:" && c.IntrospectionURL == "http://a/i/" && c.ClientID == "id" &&
					c.ClientSecret == "sec" && c.IntrospectionToken == "tok" && c.ShutdownTimeout == 3*time.Second &&
					c.IntrospectionMaxTTL == time.Minute
			}, ""},
		{"bad port", map[string]string{"PORT": "http"}, nil, "PORT"},
		{"port too big", map[string]string{"PORT": "70000"}, nil, "PORT"},
		{"bad level", map[string]string{"LOG_LEVEL": "loud"}, nil, "LOG_LEVEL"},
		{"bad log format", map[string]string{"LOG_FORMAT": "xml"}, nil, "LOG_FORMAT"},
		{"text logs", map[string]string{"LOG_FORMAT": "text"}, func(c Config) bool { return c.LogFormat == "text" }, ""},
		{"bad database", map[string]string{"DATABASE_URL": "mysql://x"}, nil, "DATABASE_URL"},
		{"bad redis", map[string]string{"REDIS_URL": "127.0.0.1:6379"}, nil, "REDIS_URL"},
		{"bad auth server", map[string]string{"AUTH_SERVER_URL": "localhost:8000"}, nil, "AUTH_SERVER_URL"},
		{"bad duration", map[string]string{"SHUTDOWN_TIMEOUT": "-1s"}, nil, "SHUTDOWN_TIMEOUT"},
		{"every error is reported", map[string]string{"PORT": "x", "LOG_LEVEL": "y"}, nil, "LOG_LEVEL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadConfig(envOf(tt.env))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Fatalf("config %+v", c)
			}
		})
	}
}
