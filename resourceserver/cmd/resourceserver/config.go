package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-oauth/portcullis/resourceserver/internal/database"
)

// Config is the whole service configuration, from the environment.
type Config struct {
	Port                int           // PORT, default 8001; 0 picks a free port
	DatabaseURL         string        // DATABASE_URL; "" is the SQLite file data/resourceserver.db
	RedisURL            string        // REDIS_URL; "" means no revocation events (cache TTL only)
	RedisPrefix         string        // REDIS_PREFIX, on the revocation channel
	LogLevel            slog.Level    // LOG_LEVEL: debug, info (default), warn, error
	LogFormat           string        // LOG_FORMAT: json (default) or text, on stderr
	AuthServerURL       string        // AUTH_SERVER_URL, default http://localhost:8000
	IntrospectionURL    string        // INTROSPECTION_URL, default $AUTH_SERVER_URL/o/introspect/
	ClientID            string        // INTROSPECTION_CLIENT_ID, default rs-id
	ClientSecret        string        // INTROSPECTION_CLIENT_SECRET, default rs-secret
	IntrospectionToken  string        // INTROSPECTION_TOKEN: Bearer auth for introspection instead
	ShutdownTimeout     time.Duration // SHUTDOWN_TIMEOUT, default 20s
	IntrospectionMaxTTL time.Duration // INTROSPECTION_CACHE_TTL, default 5m (the middleware's)
}

// Defaults.
const (
	defaultPort          = 8001
	defaultAuthServerURL = "http://localhost:8000"
	defaultClientID      = "rs-id"
	defaultClientSecret  = "rs-secret"
)

// LoadConfig reads the environment through getenv and checks the result.
// Every problem is reported, not just the first.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		Port:                defaultPort,
		DatabaseURL:         getenv("DATABASE_URL"),
		RedisURL:            getenv("REDIS_URL"),
		RedisPrefix:         getenv("REDIS_PREFIX"),
		AuthServerURL:       strings.TrimRight(orDefault(getenv("AUTH_SERVER_URL"), defaultAuthServerURL), "/"),
		ClientID:            orDefault(getenv("INTROSPECTION_CLIENT_ID"), defaultClientID),
		ClientSecret:        orDefault(getenv("INTROSPECTION_CLIENT_SECRET"), defaultClientSecret),
		IntrospectionToken:  getenv("INTROSPECTION_TOKEN"),
		LogFormat:           orDefault(getenv("LOG_FORMAT"), "json"),
		ShutdownTimeout:     20 * time.Second,
		IntrospectionMaxTTL: 5 * time.Minute,
	}
	c.IntrospectionURL = orDefault(getenv("INTROSPECTION_URL"), c.AuthServerURL+"/o/introspect/")
	var errs []error
	if s := getenv("PORT"); s != "" {
		p, err := strconv.Atoi(s)
		if err != nil || p < 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("PORT %q: want 0..65535", s))
		}
		c.Port = p
	}
	if err := c.LogLevel.UnmarshalText([]byte(orDefault(getenv("LOG_LEVEL"), "info"))); err != nil {
		errs = append(errs, fmt.Errorf("LOG_LEVEL %q: want debug, info, warn or error", getenv("LOG_LEVEL")))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("LOG_FORMAT %q: want json or text", c.LogFormat))
	}
	if err := database.CheckURL(c.DatabaseURL); err != nil {
		errs = append(errs, err)
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") && !strings.HasPrefix(c.RedisURL, "unix://") {
		errs = append(errs, errors.New("REDIS_URL: want redis://, rediss:// or unix://"))
	}
	for name, v := range map[string]string{"AUTH_SERVER_URL": c.AuthServerURL, "INTROSPECTION_URL": c.IntrospectionURL} {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s %q: want an http(s) URL", name, v))
		}
	}
	for name, s := range map[string]string{"SHUTDOWN_TIMEOUT": getenv("SHUTDOWN_TIMEOUT"), "INTROSPECTION_CACHE_TTL": getenv("INTROSPECTION_CACHE_TTL")} {
		if s == "" {
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("%s %q: want a positive duration such as 20s", name, s))
			continue
		}
		if name == "SHUTDOWN_TIMEOUT" {
			c.ShutdownTimeout = d
		} else {
			c.IntrospectionMaxTTL = d
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
