package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/passwords"
	"github.com/portcullis-oauth/portcullis/authserver/internal/signing"
	"github.com/portcullis-oauth/portcullis/shared/scope"
)

// config is every setting of the auth server, read from the environment.
// The README's configuration table lists the same names and defaults.
type config struct {
	Port        int
	Issuer      string
	DatabaseURL string
	RedisURL    string
	RedisPrefix string
	LogLevel    slog.Level
	LogFormat   string
	AccessTTL   time.Duration
	RefreshTTL  time.Duration
	// RefreshReuseGrace: a refresh token presented again within it after
	// its rotation is a concurrent duplicate, later a replay.
	RefreshReuseGrace time.Duration
	Scopes            scope.Set
	DefaultScopes     scope.Set
	Argon             passwords.Params
	// PasswordQueue: how many password checks may wait for one of the
	// GOMAXPROCS hashing slots before more are refused with 503.
	PasswordQueue   int
	ThrottleLimit   int
	ThrottleWindow  time.Duration
	ClientCacheTTL  time.Duration
	TokenCacheTTL   time.Duration
	TokenCacheSize  int
	TrustedProxies  []string
	ShutdownTimeout time.Duration
	SessionSecure   bool
	SessionIdle     time.Duration
	SessionMaxAge   time.Duration
	// KEK seals the OpenID Connect signing keys (KEY_ENCRYPTION_KEY); nil
	// turns OpenID Connect off.
	KEK        *signing.KEK
	IDTokenTTL time.Duration
	// OIDCIssuer is the iss of id tokens (OIDC_ISSUER), by default the
	// issuer URL.
	OIDCIssuer string
	// DeviceCodeTTL and DeviceInterval shape the device grant (RFC 8628).
	DeviceCodeTTL  time.Duration
	DeviceInterval time.Duration
	// SMTPURL (unset: e-mail is written to the log), MailFrom and
	// ResetTTL serve password reset by e-mail.
	SMTPURL  string
	MailFrom string
	ResetTTL time.Duration

	// RedisAllowEviction lets the server start on a Redis whose
	// maxmemory-policy evicts keys (redis.go).
	RedisAllowEviction bool
}

// allowEvictionVar is the setting that lets the server run on a Redis whose
// maxmemory-policy evicts keys.
const allowEvictionVar = "REDIS_ALLOW_EVICTION"

// loadConfig reads and checks the environment. Every problem is reported,
// not just the first.
func loadConfig(getenv func(string) string) (config, error) {
	var errs []error
	str := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	integer := func(name string, def, lo, hi int) int {
		v := getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			errs = append(errs, fmt.Errorf("%s=%q: want a whole number from %d to %d", name, v, lo, hi))
			return def
		}
		return n
	}
	dur := func(name string, def, lo time.Duration) time.Duration {
		v := getenv(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < lo {
			errs = append(errs, fmt.Errorf("%s=%q: want a duration such as 1h or 30s, at least %s", name, v, lo))
			return def
		}
		return d
	}
	def := passwords.DefaultParams()
	c := config{
		Port:        integer("PORT", 8000, 0, 65535),
		Issuer:      getenv("ISSUER_URL"),
		DatabaseURL: getenv("DATABASE_URL"),
		RedisURL:    getenv("REDIS_URL"),
		RedisPrefix: getenv("REDIS_PREFIX"),
		LogFormat:   str("LOG_FORMAT", "json"),
		AccessTTL:   dur("ACCESS_TOKEN_LIFETIME", time.Hour, time.Second),
		RefreshTTL:  dur("REFRESH_TOKEN_LIFETIME", 30*24*time.Hour, time.Second),
		// A long grace lets a thief who used a stolen refresh token first keep the family
		// when the real client comes back within it; a minute at most.
		RefreshReuseGrace: dur("REFRESH_REUSE_GRACE", 2*time.Second, 0),
		Argon: passwords.Params{
			Time:      uint32(integer("ARGON2_TIME", int(def.Time), 1, 64)),
			MemoryKiB: uint32(integer("ARGON2_MEMORY_KIB", int(def.MemoryKiB), 64, 1<<21)),
			Threads:   uint8(integer("ARGON2_THREADS", int(def.Threads), 1, 255)),
			KeyLen:    def.KeyLen,
			SaltLen:   def.SaltLen,
		},
		PasswordQueue:   integer("PASSWORD_HASH_QUEUE", passwords.DefaultQueue, 0, 100_000),
		ThrottleLimit:   integer("LOGIN_THROTTLE_LIMIT", 10, 1, 1_000_000),
		ThrottleWindow:  dur("LOGIN_THROTTLE_WINDOW", 15*time.Minute, time.Second),
		ClientCacheTTL:  dur("CLIENT_CACHE_TTL", 30*time.Second, 0),
		TokenCacheTTL:   dur("TOKEN_CACHE_TTL", 10*time.Second, 0),
		TokenCacheSize:  integer("TOKEN_CACHE_SIZE", 100_000, 1, 10_000_000),
		ShutdownTimeout: dur("SHUTDOWN_TIMEOUT", 15*time.Second, 0),
		SessionIdle:     dur("SESSION_IDLE_TIMEOUT", time.Hour, time.Minute),
		SessionMaxAge:   dur("SESSION_MAX_AGE", 12*time.Hour, time.Minute),
		SMTPURL:         getenv("SMTP_URL"),
		MailFrom:        str("MAIL_FROM", "Portcullis <noreply@localhost>"),
		ResetTTL:        dur("PASSWORD_RESET_TIMEOUT", time.Hour, time.Minute),
		IDTokenTTL:      dur("ID_TOKEN_LIFETIME", time.Hour, time.Second),
		DeviceCodeTTL:   dur("DEVICE_CODE_LIFETIME", 10*time.Minute, 10*time.Second),
		DeviceInterval:  dur("DEVICE_POLL_INTERVAL", 5*time.Second, time.Second),
	}
	if v := getenv("KEY_ENCRYPTION_KEY"); v != "" {
		kek, err := signing.ParseKEK(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("KEY_ENCRYPTION_KEY: %w", err))
		}
		c.KEK = kek
	}
	// Secure cookies by default whenever the public URL is https.
	c.SessionSecure = strings.HasPrefix(c.Issuer, "https://")
	if v := getenv("SESSION_COOKIE_SECURE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("SESSION_COOKIE_SECURE=%q: want true or false", v))
		}
		c.SessionSecure = b
	}
	if v := getenv(allowEvictionVar); v != "" {
		var err error
		if c.RedisAllowEviction, err = strconv.ParseBool(v); err != nil {
			errs = append(errs, fmt.Errorf("%s=%q: want true or false", allowEvictionVar, v))
		}
	}
	if err := c.LogLevel.UnmarshalText([]byte(str("LOG_LEVEL", "info"))); err != nil {
		errs = append(errs, fmt.Errorf("LOG_LEVEL=%q: want debug, info, warn or error", getenv("LOG_LEVEL")))
	}
	if c.RefreshReuseGrace > time.Minute {
		errs = append(errs, fmt.Errorf("REFRESH_REUSE_GRACE=%q: want at most 1m (a thief who uses a stolen refresh token first keeps it when the real client returns within the grace)", getenv("REFRESH_REUSE_GRACE")))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		errs = append(errs, fmt.Errorf("LOG_FORMAT=%q: want json or text", c.LogFormat))
	}
	var err error
	if c.Scopes, err = scope.Parse(str("SCOPES", "read write introspection")); err != nil || len(c.Scopes) == 0 {
		errs = append(errs, fmt.Errorf("SCOPES=%q: want space-separated scope names", getenv("SCOPES")))
	}
	c.DefaultScopes = c.Scopes
	if v := getenv("DEFAULT_SCOPES"); v != "" {
		ds, err := scope.Parse(v)
		if err != nil || !c.Scopes.HasAll(ds) {
			errs = append(errs, fmt.Errorf("DEFAULT_SCOPES=%q: want a subset of SCOPES", v))
		} else {
			c.DefaultScopes = ds
		}
	}
	// An OpenID Provider knows openid and email (OpenID Connect Core §5.4),
	// never granted by default.
	if c.KEK != nil {
		for _, sc := range []string{"openid", "email"} {
			if !c.Scopes.Has(sc) {
				c.Scopes = append(c.Scopes, sc)
			}
		}
	}
	c.OIDCIssuer = strings.TrimRight(getenv("OIDC_ISSUER"), "/")
	if c.OIDCIssuer == "" {
		c.OIDCIssuer = c.issuer()
	}
	for _, p := range strings.Split(getenv("TRUSTED_PROXIES"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.TrustedProxies = append(c.TrustedProxies, p)
		}
	}
	return c, errors.Join(errs...)
}

func (c config) logger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

// issuer is ISSUER_URL, or http://localhost:PORT.
func (c config) issuer() string {
	if c.Issuer != "" {
		return strings.TrimRight(c.Issuer, "/")
	}
	return "http://localhost:" + strconv.Itoa(c.Port)
}
