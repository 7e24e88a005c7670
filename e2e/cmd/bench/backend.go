package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	_ "github.com/lib/pq"
	"github.com/redis/go-redis/v9"

	"github.com/portcullis-oauth/portcullis/e2e/internal/rediskeys"
)

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// pgSchemas creates fresh schemas and drops them on cleanup.
type pgSchemas struct {
	db      *sql.DB
	base    string
	created []string
}

func openPG(ctx context.Context, base string) (*pgSchemas, error) {
	db, err := sql.Open("postgres", base)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL %s: %w", redactURL(base), err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("PostgreSQL does not answer at %s: %w", redactURL(base), err)
	}
	return &pgSchemas{db: db, base: base}, nil
}

// fresh creates a schema and returns base with search_path set to it.
func (p *pgSchemas) fresh(ctx context.Context, tag string) (string, error) {
	schema := "bench_" + tag + "_" + randHex(4)
	if _, err := p.db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", fmt.Errorf("create schema: %w", err)
	}
	p.created = append(p.created, schema)
	u, err := url.Parse(p.base)
	if err != nil {
		return "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (p *pgSchemas) close() {
	for _, s := range p.created {
		_, _ = p.db.Exec("DROP SCHEMA " + s + " CASCADE")
	}
	p.db.Close()
}

// userByEmail returns a user's id and stored password hash in schemaURL.
func userByEmail(ctx context.Context, schemaURL, email string) (id int64, phc string, err error) {
	db, err := sql.Open("postgres", schemaURL)
	if err != nil {
		return 0, "", err
	}
	defer db.Close()
	err = db.QueryRowContext(ctx, "SELECT id, password FROM users WHERE email = $1", email).Scan(&id, &phc)
	return id, phc, err
}

// argonParams are argon2id parameters read from a PHC string.
type argonParams struct {
	time, memKiB uint32
	threads      uint8
	keyLen       uint32
	saltLen      int
}

func (a argonParams) String() string {
	return fmt.Sprintf("m=%d KiB, t=%d, p=%d, %d-byte key", a.memKiB, a.time, a.threads, a.keyLen)
}

// parsePHC parses $argon2id$v=19$m=..,t=..,p=..$salt$key.
func parsePHC(s string) (argonParams, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return argonParams{}, fmt.Errorf("not an argon2id PHC string (%d fields)", len(parts))
	}
	var a argonParams
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return argonParams{}, fmt.Errorf("PHC param %q: %w", kv, err)
		}
		switch k {
		case "m":
			a.memKiB = uint32(n)
		case "t":
			a.time = uint32(n)
		case "p":
			a.threads = uint8(n)
		}
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return argonParams{}, fmt.Errorf("PHC salt: %w", err)
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil {
		return argonParams{}, fmt.Errorf("PHC key: %w", err)
	}
	a.saltLen, a.keyLen = len(salt), uint32(len(key))
	if a.time == 0 || a.memKiB == 0 || a.threads == 0 {
		return argonParams{}, fmt.Errorf("PHC string lacks m, t or p")
	}
	return a, nil
}

func openRedis(ctx context.Context, rawURL string) (*redis.Client, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	rdb := redis.NewClient(opt)
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis does not answer at %s: %w", redactURL(rawURL), err)
	}
	return rdb, nil
}

// prefixMemory sums MEMORY USAGE ... SAMPLES 0 over every key under prefix.
func prefixMemory(ctx context.Context, rdb *redis.Client, prefix string) (bytes, keys int64, err error) {
	err = rediskeys.Scan(ctx, rdb, prefix, func(k string) error {
		n, err := rdb.MemoryUsage(ctx, k, 0).Result()
		if err == redis.Nil {
			return nil // expired between SCAN and MEMORY USAGE
		}
		if err != nil {
			return err
		}
		bytes += n
		keys++
		return nil
	})
	return bytes, keys, err
}

// redactURL hides a password in a URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
