// Package redisurl parses REDIS_URL, the one setting both services read to
// find Redis, into a plain description that each side hands to its Redis
// client. Three topologies are accepted:
//
//	redis://[[user]:password@]host:port[/db]             standalone (rediss:// for TLS)
//	redis-sentinel://[[user]:password@]host:port,host:port[/db]?master=NAME
//	redis-cluster://[[user]:password@]host:port,host:port  (rediss-cluster:// for TLS)
//
// A Sentinel URL's password is the Redis password; sentinel_password=…
// in the query sets the Sentinels' own.
package redisurl

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Mode is the Redis topology.
type Mode string

// The topologies.
const (
	Standalone Mode = "standalone"
	Sentinel   Mode = "sentinel"
	Cluster    Mode = "cluster"
)

// Config describes how to reach Redis.
type Config struct {
	Mode             Mode
	Addrs            []string // host:port; one for Standalone
	Username         string
	Password         string
	DB               int
	MasterName       string // Sentinel only
	SentinelPassword string // Sentinel only
	TLS              bool
}

// ErrInvalid is returned, wrapped, for every malformed URL.
var ErrInvalid = errors.New("redisurl: invalid REDIS_URL")

// Parse reads one of the three forms above.
func Parse(raw string) (Config, error) {
	// net/url refuses a host list such as "a:1,b:2", so the authority is
	// cut out by hand and the rest parsed with a placeholder host.
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return Config{}, fmt.Errorf("%w: no scheme", ErrInvalid)
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority := rest[:end]
	u, err := url.Parse(scheme + "://placeholder" + rest[end:])
	if err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	hosts := authority
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		hosts = authority[at+1:]
		ui, err := url.Parse("x://" + authority[:at+1] + "h")
		if err != nil {
			return Config{}, fmt.Errorf("%w: credentials", ErrInvalid)
		}
		u.User = ui.User
	}
	var c Config
	switch u.Scheme {
	case "redis":
		c.Mode = Standalone
	case "rediss":
		c.Mode, c.TLS = Standalone, true
	case "redis-sentinel":
		c.Mode = Sentinel
	case "redis-cluster":
		c.Mode = Cluster
	case "rediss-cluster":
		c.Mode, c.TLS = Cluster, true
	default:
		return Config{}, fmt.Errorf("%w: scheme %q (want redis, rediss, redis-sentinel, redis-cluster or rediss-cluster)", ErrInvalid, u.Scheme)
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	for _, h := range strings.Split(hosts, ",") {
		if h == "" {
			return Config{}, fmt.Errorf("%w: empty host", ErrInvalid)
		}
		if _, _, err := net.SplitHostPort(h); err != nil {
			def := "6379"
			if c.Mode == Sentinel {
				def = "26379"
			}
			h = net.JoinHostPort(h, def)
		}
		c.Addrs = append(c.Addrs, h)
	}
	if c.Mode == Standalone && len(c.Addrs) != 1 {
		return Config{}, fmt.Errorf("%w: a standalone URL names one host", ErrInvalid)
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		if c.Mode == Cluster {
			return Config{}, fmt.Errorf("%w: Redis Cluster has no database number", ErrInvalid)
		}
		if c.DB, err = strconv.Atoi(p); err != nil || c.DB < 0 {
			return Config{}, fmt.Errorf("%w: database %q", ErrInvalid, p)
		}
	}
	q := u.Query()
	if c.Mode == Sentinel {
		c.MasterName = q.Get("master")
		c.SentinelPassword = q.Get("sentinel_password")
		if c.MasterName == "" {
			return Config{}, fmt.Errorf("%w: a Sentinel URL needs ?master=NAME", ErrInvalid)
		}
	}
	return c, nil
}

// Redacted is the URL's description without its password, for logs.
func (c Config) Redacted() string {
	return fmt.Sprintf("%s %s db=%d tls=%t", c.Mode, strings.Join(c.Addrs, ","), c.DB, c.TLS)
}
