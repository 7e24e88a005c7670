package subscriber

import (
	"crypto/tls"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/shared/redisurl"
)

// Dial returns a Redis client for a REDIS_URL in any of the forms package
// shared/redisurl accepts: standalone (redis://, rediss://), Sentinel
// (redis-sentinel://…?master=NAME) or Cluster (redis-cluster://a,b,c).
// It does not connect; Run does, and retries.
func Dial(rawURL string) (redis.UniversalClient, error) {
	c, err := redisurl.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("subscriber: %w", err)
	}
	o := &redis.UniversalOptions{
		Addrs: c.Addrs, Username: c.Username, Password: c.Password, DB: c.DB,
		MasterName: c.MasterName, SentinelPassword: c.SentinelPassword,
	}
	if c.TLS {
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	switch c.Mode {
	case redisurl.Cluster:
		return redis.NewClusterClient(o.Cluster()), nil
	case redisurl.Sentinel:
		return redis.NewFailoverClient(o.Failover()), nil
	}
	return redis.NewClient(o.Simple()), nil
}
