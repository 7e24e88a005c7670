package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
	"github.com/portcullis-oauth/portcullis/authserver/internal/signing"
)

const keysUsage = `usage: authserver keys <list|rotate> [flags]

  list     show every signing key: kid, alg, created, and whether it is
           signing, published (not signing yet, or superseded and kept until
           the id tokens it signed expire) or retired
  rotate   create a new key per algorithm, published in JWKS at once; it
           starts signing after --sign-after, and the key it replaces stays
           published for ID_TOKEN_LIFETIME after that

KEY_ENCRYPTION_KEY must be set (the private keys are sealed under it).
`

// defaultSignAfter exceeds JWKS's Cache-Control max-age plus a keyring's
// reload interval, so that every verifier can know a key before it signs.
const defaultSignAfter = 10 * time.Minute

// keys is `authserver keys list|rotate`.
func keys(ctx context.Context, cfg config, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) == 0 {
			fmt.Fprint(stderr, keysUsage)
			return usageError{errors.New("keys: missing subcommand")}
		}
		fmt.Fprint(stdout, keysUsage)
		return nil
	}
	fs := flag.NewFlagSet("keys "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, keysUsage+"\nflags:\n"); fs.PrintDefaults() }
	var signAfter *time.Duration
	var algs *string
	switch args[0] {
	case "list":
	case "rotate":
		signAfter = fs.Duration("sign-after", defaultSignAfter, "how long the new key is only published before it signs")
		algs = fs.String("alg", strings.Join(signing.Algorithms, ","), "comma-separated algorithms to rotate")
	default:
		fmt.Fprintf(stderr, "authserver keys: unknown subcommand %q\n\n%s", args[0], keysUsage)
		return usageError{errors.New("keys: unknown subcommand")}
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err}
	}
	if cfg.KEK == nil {
		return errors.New("keys: KEY_ENCRYPTION_KEY is not set")
	}
	db, err := database.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	kr := signing.NewKeyring(db, cfg.KEK, cfg.IDTokenTTL)
	if args[0] == "rotate" {
		var list []string
		for _, a := range strings.Split(*algs, ",") {
			a = strings.ToUpper(strings.TrimSpace(a))
			if a != signing.RS256 && a != signing.ES256 {
				return usageError{fmt.Errorf("keys rotate: --alg %q: %w", a, signing.ErrAlgorithm)}
			}
			list = append(list, a)
		}
		if *signAfter < 0 {
			return usageError{errors.New("keys rotate: --sign-after must not be negative")}
		}
		// Every algorithm must have a key for the new one to replace.
		if err := kr.Ensure(ctx); err != nil {
			return err
		}
		created, err := kr.Rotate(ctx, list, *signAfter)
		if err != nil {
			return err
		}
		for _, k := range created {
			fmt.Fprintf(stdout, "created %s key %s: published now, signing from %s\n", k.Alg, k.KID, k.SignsFrom.Format(time.RFC3339))
		}
		return nil
	}
	ls, err := kr.List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tCREATED\tSTATE\tUNTIL")
	for _, l := range ls {
		until := ""
		if !l.Until.IsZero() {
			until = l.Until.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", l.KID, l.Alg, l.CreatedAt.Format(time.RFC3339), l.State, until)
	}
	return tw.Flush()
}
