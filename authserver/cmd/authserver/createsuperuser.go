package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"golang.org/x/term"

	"github.com/portcullis-oauth/portcullis/authserver/internal/accounts"
)

// createSuperuser mirrors Django's manage.py createsuperuser: it prompts for
// Email, Password and Password (again), re-prompting after each problem, or
// runs unattended with --email and --no-input, taking the password from
// SUPERUSER_PASSWORD.
func createSuperuser(ctx context.Context, load func() (config, error), args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("createsuperuser", flag.ContinueOnError)
	email := fs.String("email", "", "the superuser's email")
	noInput := fs.Bool("no-input", false, "do not prompt; the password comes from SUPERUSER_PASSWORD")
	fs.BoolVar(noInput, "noinput", false, "alias of --no-input")
	if err := parseFlags(fs, "create a staff superuser: prompts for Email, Password and Password (again), or with --no-input takes --email and the SUPERUSER_PASSWORD environment variable", args, stdout, stderr); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	cfg.LogLevel = 8 // quiet: the prompts are the interface
	a, err := openApp(ctx, cfg, cfg.logger())
	if err != nil {
		return err
	}
	defer a.db.Close()

	if *noInput {
		pw := getenv("SUPERUSER_PASSWORD")
		if *email == "" || pw == "" {
			return errors.New("createsuperuser --no-input needs --email and the SUPERUSER_PASSWORD environment variable")
		}
		if _, err := a.accounts.CreateSuperuser(ctx, *email, pw, pw); err != nil {
			return describe(err)
		}
		fmt.Fprintln(stdout, "Superuser created successfully.")
		return nil
	}

	p := prompter{in: bufio.NewReader(stdin), out: stdout, rawIn: stdin}
	e := *email
	for {
		if e == "" {
			if e, err = p.line("Email: "); err != nil {
				return err
			}
			if strings.TrimSpace(e) == "" {
				fmt.Fprintln(stderr, "Error: This field cannot be blank.")
				e = ""
				continue
			}
		}
		pw, err := p.secret("Password: ")
		if err != nil {
			return err
		}
		pw2, err := p.secret("Password (again): ")
		if err != nil {
			return err
		}
		if pw != pw2 {
			fmt.Fprintln(stderr, "Error: Your passwords didn't match.")
			continue
		}
		if pw == "" {
			fmt.Fprintln(stderr, "Error: Blank passwords aren't allowed.")
			continue
		}
		_, err = a.accounts.CreateSuperuser(ctx, e, pw, pw2)
		var fe accounts.FieldErrors
		if errors.As(err, &fe) {
			for _, m := range fe["email"] {
				if m == accounts.MsgUnique {
					m = "That email is already taken."
				}
				fmt.Fprintln(stderr, "Error: "+m)
			}
			for _, m := range append(fe["password"], fe["password2"]...) {
				fmt.Fprintln(stderr, m)
			}
			if len(fe["email"]) > 0 {
				e = ""
			}
			continue
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, "Superuser created successfully.")
		return nil
	}
}

// describe turns FieldErrors into one readable error for the CLI.
func describe(err error) error {
	var fe accounts.FieldErrors
	if !errors.As(err, &fe) {
		return err
	}
	keys := make([]string, 0, len(fe))
	for k := range fe {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, m := range fe[k] {
			fmt.Fprintf(&b, "\n  %s: %s", k, m)
		}
	}
	return fmt.Errorf("invalid input:%s", b.String())
}

// prompter reads answers from a terminal (without echo for secrets) or, when
// stdin is not a terminal, from plain lines.
type prompter struct {
	in    *bufio.Reader
	out   io.Writer
	rawIn io.Reader
}

func (p prompter) line(prompt string) (string, error) {
	fmt.Fprint(p.out, prompt)
	s, err := p.in.ReadString('\n')
	if err != nil && (s == "" || !errors.Is(err, io.EOF)) {
		if errors.Is(err, io.EOF) {
			return "", errors.New("input ended before the superuser was created")
		}
		return "", err
	}
	return strings.TrimRight(s, "\r\n"), nil
}

func (p prompter) secret(prompt string) (string, error) {
	if f, ok := p.rawIn.(*os.File); ok && term.IsTerminal(int(f.Fd())) && p.in.Buffered() == 0 {
		fmt.Fprint(p.out, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(p.out)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(b), nil
	}
	return p.line(prompt)
}
