package tokens

import (
	"crypto/tls"
	"time"

	"github.com/redis/rueidis"

	"github.com/portcullis-oauth/portcullis/shared/redisurl"
)

// Options are the token store's rueidis options for a parsed REDIS_URL, for
// Dial. A standalone server is dialled as one, so that it need not be up at
// start; Sentinel and Cluster must answer at start (they are asked for
// their topology).
func Options(c redisurl.Config) rueidis.ClientOption {
	o := rueidis.ClientOption{InitAddress: c.Addrs, Username: c.Username, Password: c.Password, SelectDB: c.DB,
		ConnWriteTimeout: 3 * time.Second}
	o.Dialer.Timeout = 5 * time.Second
	if c.TLS {
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	switch c.Mode {
	case redisurl.Sentinel:
		o.Sentinel = rueidis.SentinelOption{MasterSet: c.MasterName, Password: c.SentinelPassword}
	case redisurl.Cluster:
	default:
		o.ForceSingleClient = true
	}
	return o
}
