package tokens

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

// BenchmarkRedisClients runs the token store's three Redis workloads, as
// many concurrent callers do (RunParallel), through each client the auth
// server could use, in one run against the same Redis: issue (a pipeline
// of the index writes and the issue script), lookup (the lookup script,
// introspection's cache miss) and rotate (the rotation script). The store
// builds the same keys and arguments for every client; only the sending
// differs. Only the ratios mean anything: run it on a quiet machine.
//
//	go test ./internal/tokens -run '^$' -bench BenchmarkRedisClients -benchtime 20000x -cpu 8
func BenchmarkRedisClients(b *testing.B) {
	rdb, prefix := testenv.Redis(b)
	b.Cleanup(func() { testenv.DeletePrefix(rdb, prefix) })
	s := New(tokenClient(b, rdb), prefix, testLife)
	if err := s.loadScripts(context.Background()); err != nil {
		b.Fatal(err)
	}
	opt := rdb.Options()
	gr := goredis.NewClient(&goredis.Options{Addr: opt.Addr, DB: opt.DB, Password: opt.Password, PoolSize: 64})
	b.Cleanup(func() { _ = gr.Close() })
	ap, err := gr.AutoPipeline()
	if err != nil {
		b.Fatal(err)
	}
	senders := []struct {
		name string
		send sender
	}{
		{"rueidis", rueidisSender{s.rc}},
		{"go-redis", goredisSender{gr}},
		{"go-redis-autopipeline", goredisSender{ap}},
	}
	for _, w := range []string{"issue", "lookup", "rotate"} {
		for _, c := range senders {
			b.Run(w+"/"+c.name, func(b *testing.B) { runWorkload(b, s, c.send, w) })
		}
	}
}

// sender sends one script call, or a pipeline of commands then a script
// call, and returns the script's reply as strings.
type sender interface {
	eval(ctx context.Context, sha string, ro bool, keys []string, argv []string, before ...[]string) ([]string, error)
}

type rueidisSender struct{ c rueidis.Client }

func (r rueidisSender) eval(ctx context.Context, sha string, ro bool, keys, argv []string, before ...[]string) ([]string, error) {
	cmds := make(rueidis.Commands, 0, len(before)+1)
	for _, cmd := range before {
		cmds = append(cmds, r.c.B().Arbitrary(cmd[0]).Keys(cmd[1]).Args(cmd[2:]...).Build())
	}
	if ro {
		cmds = append(cmds, r.c.B().EvalshaRo().Sha1(sha).Numkeys(int64(len(keys))).Key(keys...).Arg(argv...).Build())
	} else {
		cmds = append(cmds, r.c.B().Evalsha().Sha1(sha).Numkeys(int64(len(keys))).Key(keys...).Arg(argv...).Build())
	}
	res := r.c.DoMulti(ctx, cmds...)
	for _, r := range res[:len(res)-1] {
		if err := r.Error(); err != nil {
			return nil, err
		}
	}
	return replyStrings(res[len(res)-1])
}

func replyStrings(r rueidis.RedisResult) ([]string, error) {
	if arr, err := r.ToArray(); err == nil {
		out := make([]string, len(arr))
		for i, m := range arr {
			out[i], _ = m.ToString()
		}
		return out, nil
	}
	if n, err := r.AsInt64(); err == nil {
		return []string{strconv.FormatInt(n, 10)}, nil
	}
	v, err := r.ToString()
	return []string{v}, err
}

type goredisSender struct{ c goredis.Cmdable }

func (g goredisSender) eval(ctx context.Context, sha string, ro bool, keys, argv []string, before ...[]string) ([]string, error) {
	args := make([]any, len(argv))
	for i, a := range argv {
		args[i] = a
	}
	var cmd *goredis.Cmd
	if len(before) == 0 {
		if ro {
			cmd = g.c.EvalShaRO(ctx, sha, keys, args...)
		} else {
			cmd = g.c.EvalSha(ctx, sha, keys, args...)
		}
	} else {
		_, err := g.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, c := range before {
				a := make([]any, len(c))
				for i, x := range c {
					a[i] = x
				}
				p.Do(ctx, a...)
			}
			cmd = p.EvalSha(ctx, sha, keys, args...)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	v, err := cmd.Result()
	if err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case []any:
		out := make([]string, len(v))
		for i, x := range v {
			out[i] = fmt.Sprint(x)
		}
		return out, nil
	default:
		return []string{fmt.Sprint(v)}, nil
	}
}

func strs(argv []any) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = fmt.Sprint(a)
	}
	return out
}

// runWorkload runs workload w through send from parallel callers.
func runWorkload(b *testing.B, s *Store, send sender, w string) {
	ctx := context.Background()
	g := userGrant(1)
	issue := func() (grant.Issued, error) {
		fam, err := newFamily(shardOf(g))
		if err != nil {
			return grant.Issued{}, err
		}
		a, out, member, famExp, err := s.prepareIssue(g, true, fam)
		if err != nil {
			return grant.Issued{}, err
		}
		n := famExp.UnixMilli() / bucketWidth.Milliseconds()
		bucket := bucketKey(s.keyUser(g.UserID), strconv.FormatInt(n, 10))
		end := strconv.FormatInt((n+1)*bucketWidth.Milliseconds(), 10)
		keys, argv := a.build()
		res, err := send.eval(ctx, issueScript.Hash(), false, keys, argv,
			[]string{"HSET", bucket, member, ""}, []string{"PEXPIREAT", bucket, end})
		if err == nil && res[0] != "1" {
			err = fmt.Errorf("issue: %v", res)
		}
		return out, err
	}
	b.ReportAllocs()
	switch w {
	case "issue":
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := issue(); err != nil {
					b.Fatal(err)
				}
			}
		})
	case "lookup":
		iss, err := issue()
		if err != nil {
			b.Fatal(err)
		}
		fam, h, _ := parseToken(iss.AccessToken, accessPrefix)
		keys, argv := lookupArgs{key: s.keyAT(fam, h), fam: s.keyFam(fam), epochs: s.epochPrefix(fam[0])}.build()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				res, err := send.eval(ctx, lookupScript.Hash(), true, keys, argv)
				if err != nil || len(res[0]) < 10 {
					b.Fatal(res, err)
				}
			}
		})
	case "rotate":
		b.RunParallel(func(pb *testing.PB) {
			iss, err := issue()
			if err != nil {
				b.Fatal(err)
			}
			rt := iss.RefreshToken
			for pb.Next() {
				fam, h, _ := parseToken(rt, refreshPrefix)
				a, out, err := s.prepareRotate(fam, h, "rs-id", "")
				if err != nil {
					b.Fatal(err)
				}
				keys, argv := a.build()
				res, err := send.eval(ctx, rotateScript.Hash(), false, keys, strs(argv))
				if err != nil || res[0] != "ok" {
					b.Fatal(res, err)
				}
				rt = out.RefreshToken
			}
		})
	}
}
