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
func keys(ctx context.Context, load func() (config, error), args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return badUsage(stderr, "keys", errors.New("missing subcommand: list or rotate (see keys -h)"))
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, keysUsage)
		return flag.ErrHelp
	case "list", "rotate":
	default:
		return badUsage(stderr, "keys", fmt.Errorf("unknown subcommand %q: list or rotate (see keys -h)", args[0]))
	}
	fs := flag.NewFlagSet("keys "+args[0], flag.ContinueOnError)
	var signAfter *time.Duration
	var algs *string
	summary := "show every signing key: kid, alg, created, and its state"
	if args[0] == "rotate" {
		summary = "create a new key per algorithm, published at once, signing after --sign-after"
		signAfter = fs.Duration("sign-after", defaultSignAfter, "how long the new key is only published before it signs")
		algs = fs.String("alg", strings.Join(signing.Algorithms, ","), "comma-separated algorithms to rotate")
	}
	if err := parseFlags(fs, summary, args[1:], stdout, stderr); err != nil {
		return err
	}
	var list []string
	if args[0] == "rotate" {
		for _, a := range strings.Split(*algs, ",") {
			a = strings.ToUpper(strings.TrimSpace(a))
			if a != signing.RS256 && a != signing.ES256 {
				return badUsage(stderr, "keys rotate", fmt.Errorf("--alg %q: %w", a, signing.ErrAlgorithm))
			}
			list = append(list, a)
		}
		if *signAfter < 0 {
			return badUsage(stderr, "keys rotate", errors.New("--sign-after must not be negative"))
		}
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	if cfg.KEK == nil {
		return errors.New("keys: KEY_ENCRYPTION_KEY is not set")
	}
	db, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	kr := signing.NewKeyring(db, cfg.KEK, cfg.IDTokenTTL)
	if args[0] == "rotate" {
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
