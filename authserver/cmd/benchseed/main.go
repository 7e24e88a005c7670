// Command benchseed fills Redis with live tokens for `make bench`. The
// figures that need a hundred thousand or a million live tokens
// (introspection at scale, a password change against many token families)
// would otherwise spend minutes issuing them over HTTP. It issues through
// the token store itself (tokens.Store.Issue), so the keys, records and
// index entries are exactly the ones the auth server writes. It is not
// part of a release, and it writes only under the prefix it is given.
//
//	benchseed -redis-url URL -prefix P -client ID [-user-id N -username EMAIL] [-refresh] -n N -out FILE
//
// Each line of FILE is the access token, then, with -refresh, a space and
// the refresh token of the same family. The token lifetimes must be the
// auth server's (-access-ttl, -refresh-ttl; their defaults are the
// server's).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/grant"
	"github.com/portcullis-oauth/portcullis/authserver/internal/tokens"
	"github.com/portcullis-oauth/portcullis/shared/redisurl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchseed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("benchseed", flag.ContinueOnError)
	rawURL := fs.String("redis-url", "", "the auth server's REDIS_URL (required)")
	prefix := fs.String("prefix", "", "the auth server's REDIS_PREFIX")
	client := fs.String("client", "", "client_id the tokens are issued to (required)")
	userID := fs.Int64("user-id", 0, "the user's id; 0 for client_credentials tokens")
	username := fs.String("username", "", "the user's email (with -user-id)")
	scope := fs.String("scope", "read write", "scope of every token")
	refresh := fs.Bool("refresh", false, "issue a refresh token with each access token (a token family)")
	n := fs.Int("n", 1000, "how many tokens (or families) to issue")
	out := fs.String("out", "", "file to write the tokens to (required)")
	workers := fs.Int("workers", 64, "concurrent issuers")
	access := fs.Duration("access-ttl", time.Hour, "the server's ACCESS_TOKEN_LIFETIME")
	refreshTTL := fs.Duration("refresh-ttl", 30*24*time.Hour, "the server's REFRESH_TOKEN_LIFETIME")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rawURL == "" || *client == "" || *out == "" || *n < 1 {
		return errors.New("-redis-url, -client, -out and a positive -n are required")
	}
	if (*userID == 0) != (*username == "") {
		return errors.New("-user-id and -username go together")
	}
	c, err := redisurl.Parse(*rawURL)
	if err != nil {
		return fmt.Errorf("-redis-url: %w", err)
	}
	rc, err := tokens.Dial(tokens.Options(c))
	if err != nil {
		if rc != nil {
			rc.Close()
		}
		return fmt.Errorf("redis: %w", err)
	}
	defer rc.Close()
	store := tokens.New(rc, *prefix, tokens.Lifetimes{Access: *access, Refresh: *refreshTTL})
	gen, err := store.Generation(ctx)
	if err != nil {
		return err
	}
	g := grant.Grant{ClientID: *client, UserID: *userID, Username: *username, Scope: *scope,
		Checked: grant.Checked{User: gen, Client: gen}}

	f, err := os.OpenFile(*out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600) // bearer tokens
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var mu sync.Mutex
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for range max(*workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(*n) && ctx.Err() == nil {
				is, err := store.Issue(ctx, g, *refresh)
				if err != nil {
					once.Do(func() { first = err })
					return
				}
				mu.Lock()
				w.WriteString(is.AccessToken)
				if *refresh {
					w.WriteByte(' ')
					w.WriteString(is.RefreshToken)
				}
				w.WriteByte('\n')
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	if err := w.Flush(); err != nil && first == nil {
		first = err
	}
	if err := f.Close(); err != nil && first == nil {
		first = err
	}
	return first
}
