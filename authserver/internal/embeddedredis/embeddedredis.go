package embeddedredis

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Config says where the embedded Redis listens and where it keeps its data.
type Config struct {
	// Addr is the listen address, such as 127.0.0.1:6380.
	Addr string
	// SnapshotPath is the snapshot file; its directory is created. Empty
	// keeps nothing across restarts.
	SnapshotPath string
	// Interval is how often the snapshot is written while running.
	Interval time.Duration
	Log      *slog.Logger
}

// ErrCorruptSnapshot is matched by Start's error when the snapshot file
// cannot be read back. Start refuses rather than starting empty, because
// the next snapshot would overwrite the file and lose its data for good.
var ErrCorruptSnapshot = errors.New("embeddedredis: corrupt snapshot")

// Server is a running embedded Redis. Its methods are safe for concurrent
// use.
type Server struct {
	cfg    Config
	m      *miniredis.Miniredis
	client *redis.Client // over an in-memory pipe, for the atomic dump

	mu        sync.Mutex // serialises snapshot writes; guards closed
	closed    bool
	closeOnce sync.Once
	closeErr  error
	stop      chan struct{}
	done      chan struct{}
}

// Start restores the snapshot, if there is one, and listens on cfg.Addr.
// It returns an error matching ErrCorruptSnapshot for a snapshot it cannot
// read, naming the file.
func Start(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	m := miniredis.NewMiniRedis()
	m.ClockTTL(true) // keys expire on the wall clock, as in Redis
	if cfg.SnapshotPath != "" {
		n, err := restore(m, cfg.SnapshotPath, time.Now())
		if err != nil {
			return nil, err
		}
		if n >= 0 {
			cfg.Log.Info("embedded redis: snapshot restored", "path", cfg.SnapshotPath, "keys", n)
		}
	}
	if err := m.StartAddr(cfg.Addr); err != nil {
		return nil, fmt.Errorf("embeddedredis: listen on %s: %w", cfg.Addr, err)
	}
	s := &Server{cfg: cfg, m: m, stop: make(chan struct{}), done: make(chan struct{})}
	s.client = redis.NewClient(&redis.Options{
		Addr:   "embedded",
		Dialer: func(context.Context, string, string) (net.Conn, error) { return m.Dial() },
	})
	if cfg.SnapshotPath != "" && cfg.Interval > 0 {
		go s.loop()
	} else {
		close(s.done)
	}
	return s, nil
}

// Addr is the address it listens on.
func (s *Server) Addr() string { return s.m.Addr() }

func (s *Server) loop() {
	defer close(s.done)
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Interval)
			if err := s.Snapshot(ctx); err != nil {
				s.cfg.Log.Error("embedded redis: snapshot failed", "path", s.cfg.SnapshotPath, "error", err)
			}
			cancel()
		}
	}
}

// Close stops the periodic snapshots, writes a last one, and stops the
// server. It returns the snapshot's error, if any. Later calls do nothing.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
		if s.cfg.SnapshotPath != "" {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			s.closeErr = s.Snapshot(ctx)
			cancel()
		}
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		_ = s.client.Close()
		s.m.Close()
	})
	return s.closeErr
}

// dumpScript reads every key with its type, remaining TTL (ms) and value
// in one script, which miniredis runs atomically: a snapshot never holds
// half of a token rotation.
const dumpScript = `
local out = {}
for _, k in ipairs(redis.call('KEYS', '*')) do
  local t = redis.call('TYPE', k)
  if type(t) == 'table' then t = t['ok'] end
  local v = {}
  if t == 'string' then v = {redis.call('GET', k)}
  elseif t == 'hash' then v = redis.call('HGETALL', k)
  elseif t == 'set' then v = redis.call('SMEMBERS', k)
  elseif t == 'zset' then v = redis.call('ZRANGE', k, 0, -1, 'WITHSCORES')
  elseif t == 'list' then v = redis.call('LRANGE', k, 0, -1)
  end
  out[#out + 1] = {k, t, redis.call('PTTL', k), v}
end
return out
`

// Snapshot writes the snapshot file now.
func (s *Server) Snapshot(ctx context.Context) error {
	if s.cfg.SnapshotPath == "" {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("embeddedredis: snapshot: closed")
	}
	now := time.Now()
	res, err := s.client.Eval(ctx, dumpScript, nil).Slice()
	if err != nil {
		return fmt.Errorf("embeddedredis: snapshot: dump: %w", err)
	}
	snap := file{Version: version, WrittenAt: now}
	for _, r := range res {
		e, err := parseDumped(r, now)
		if err != nil {
			return fmt.Errorf("embeddedredis: snapshot: %w", err)
		}
		if e != nil {
			snap.Keys = append(snap.Keys, *e)
		}
	}
	var buf bytes.Buffer
	buf.WriteString(magic)
	if err := gob.NewEncoder(&buf).Encode(snap); err != nil {
		return fmt.Errorf("embeddedredis: snapshot: encode: %w", err)
	}
	return writeAtomic(s.cfg.SnapshotPath, buf.Bytes())
}

// parseDumped turns one {key, type, pttl, values} row into an entry; nil
// for a type the auth server does not use or a key that just expired.
func parseDumped(r any, now time.Time) (*entry, error) {
	row, ok := r.([]any)
	if !ok || len(row) != 4 {
		return nil, fmt.Errorf("unexpected dump row %T", r)
	}
	key, _ := row[0].(string)
	typ, _ := row[1].(string)
	pttl, _ := row[2].(int64)
	raw, _ := row[3].([]any)
	vals := make([]string, len(raw))
	for i, v := range raw {
		vals[i], _ = v.(string)
	}
	e := &entry{Key: key, Type: typ, Values: vals}
	switch {
	case pttl == -2:
		return nil, nil // expired between KEYS and PTTL
	case pttl >= 0:
		e.ExpiresAt = now.Add(time.Duration(pttl) * time.Millisecond)
	}
	switch typ {
	case "string", "hash", "set", "zset", "list":
		return e, nil
	}
	return nil, nil
}

// The snapshot file: magic, then one gob-encoded file.
const (
	magic   = "portcullis-embedded-redis\n"
	version = 1
)

type file struct {
	Version   int
	WrittenAt time.Time
	Keys      []entry
}

// entry is one key. Values: string [v]; hash [f1 v1 f2 v2 …]; set
// [m1 m2 …]; zset [m1 s1 m2 s2 …]; list [e1 e2 …]. A zero ExpiresAt is
// no TTL.
type entry struct {
	Key       string
	Type      string
	Values    []string
	ExpiresAt time.Time
}

// restore loads path into m, leaving out keys that expired meanwhile. It
// returns the number of keys restored, or -1 when there is no file.
func restore(m *miniredis.Miniredis, path string, now time.Time) (int, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return -1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("embeddedredis: read snapshot: %w", err)
	}
	corrupt := func(why string, args ...any) error {
		return fmt.Errorf("%w: %s: %s; move it away to start with an empty Redis (every token and session is then lost)",
			ErrCorruptSnapshot, path, fmt.Sprintf(why, args...))
	}
	rest, ok := bytes.CutPrefix(b, []byte(magic))
	if !ok {
		return 0, corrupt("not a snapshot of the embedded Redis")
	}
	var snap file
	if err := gob.NewDecoder(bytes.NewReader(rest)).Decode(&snap); err != nil {
		return 0, corrupt("%v", err)
	}
	if snap.Version != version {
		return 0, corrupt("version %d, want %d", snap.Version, version)
	}
	n := 0
	for _, e := range snap.Keys {
		if !e.ExpiresAt.IsZero() && !e.ExpiresAt.After(now) {
			continue
		}
		if err := load(m, e); err != nil {
			return 0, corrupt("key %q: %v", e.Key, err)
		}
		if !e.ExpiresAt.IsZero() {
			m.SetTTL(e.Key, e.ExpiresAt.Sub(now))
		}
		n++
	}
	return n, nil
}

func load(m *miniredis.Miniredis, e entry) error {
	v := e.Values
	pairs := func() error {
		if len(v)%2 != 0 {
			return fmt.Errorf("%s with an odd number of values", e.Type)
		}
		return nil
	}
	switch e.Type {
	case "string":
		if len(v) != 1 {
			return errors.New("string without exactly one value")
		}
		return m.Set(e.Key, v[0])
	case "hash":
		if err := pairs(); err != nil {
			return err
		}
		m.HSet(e.Key, v...)
	case "set":
		_, err := m.SetAdd(e.Key, v...)
		return err
	case "zset":
		if err := pairs(); err != nil {
			return err
		}
		for i := 0; i < len(v); i += 2 {
			score, err := strconv.ParseFloat(v[i+1], 64)
			if err != nil {
				return fmt.Errorf("zset score %q", v[i+1])
			}
			if _, err := m.ZAdd(e.Key, score, v[i]); err != nil {
				return err
			}
		}
	case "list":
		_, err := m.Push(e.Key, v...)
		return err
	default:
		return fmt.Errorf("type %q", e.Type)
	}
	return nil
}

// writeAtomic writes b to path through a temporary file in the same
// directory, synced before the rename, so that a crash leaves either the
// old file or the new one, never half of one. The file is private (0600):
// it holds token hashes and sessions.
func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("embeddedredis: snapshot: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("embeddedredis: snapshot: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return fmt.Errorf("embeddedredis: snapshot: write: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("embeddedredis: snapshot: sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("embeddedredis: snapshot: close: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("embeddedredis: snapshot: rename: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // make the rename durable where the OS allows
		_ = d.Close()
	}
	return nil
}
