// Command authserver is the Portcullis OAuth2 authorization server. Its
// subcommands mirror the tutorial's manage.py: serve, migrate,
// createsuperuser and createclient, plus version. Configuration comes from
// the environment (see the README); main only wires packages together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/portcullis-oauth/portcullis/shared/buildinfo"
)

const usage = `usage: authserver <command> [flags]

commands:
  serve             run the HTTP server (migrates first)
  migrate           apply the database migrations
  createsuperuser   create a staff superuser (prompts, or --email E --no-input with SUPERUSER_PASSWORD)
  createclient      register an OAuth application
  import-dot        copy a Django OAuth Toolkit deployment in (users, applications, live tokens)
  keys              list or rotate the OpenID Connect signing keys
  version           print the module version and VCS revision

Configuration comes from environment variables (see the README).
"authserver <command> -h" describes a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run executes one subcommand and returns the exit code. Help and version
// read no configuration and touch nothing.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	load := func() (config, error) {
		cfg, err := loadConfig(getenv)
		if err != nil {
			fmt.Fprintf(stderr, "authserver: configuration:\n%v\n", err)
			return cfg, usageError{err}
		}
		return cfg, nil
	}
	var err error
	switch args[0] {
	case "serve":
		err = noFlags("serve", "run the HTTP server on PORT, after applying the migrations, until SIGINT or SIGTERM", args[1:], stdout, stderr)
		if err == nil {
			var cfg config
			if cfg, err = load(); err == nil {
				err = serve(ctx, cfg)
			}
		}
	case "migrate":
		err = noFlags("migrate", "apply the database migrations to DATABASE_URL and exit", args[1:], stdout, stderr)
		if err == nil {
			var cfg config
			if cfg, err = load(); err == nil {
				err = migrate(ctx, cfg, stdout)
			}
		}
	case "createsuperuser":
		err = createSuperuser(ctx, load, args[1:], stdin, stdout, stderr, getenv)
	case "createclient":
		err = createClient(ctx, load, args[1:], stdout, stderr)
	case "import-dot":
		err = importDOT(ctx, load, args[1:], stdout, stderr)
	case "keys":
		err = keys(ctx, load, args[1:], stdout, stderr)
	case "version":
		if err = noFlags("version", "print the module version and VCS revision", args[1:], stdout, stderr); err == nil {
			fmt.Fprintln(stdout, buildinfo.Describe("authserver"))
		}
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "authserver: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		return 2
	case errors.Is(err, context.Canceled):
		return 130
	}
	fmt.Fprintf(stderr, "authserver: %v\n", err)
	return 1
}

// usageError is a flag problem that has already been reported with the
// command's usage.
type usageError struct{ error }

// badUsage reports a problem with a command's arguments that the flag
// package cannot see (a missing or invalid value) and returns it as a
// usageError (exit 2).
func badUsage(stderr io.Writer, cmd string, err error) error {
	fmt.Fprintf(stderr, "authserver %s: %v\n", cmd, err)
	return usageError{err}
}

// parseFlags parses a subcommand's flags. -h or --help prints the usage on
// stdout and returns flag.ErrHelp (exit 0); a bad flag prints the problem
// and the usage on stderr and returns a usageError (exit 2).
func parseFlags(fs *flag.FlagSet, summary string, args []string, stdout, stderr io.Writer) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	printUsage := func(w io.Writer) {
		fmt.Fprintf(w, "usage: authserver %s [flags]\n\n%s\n", fs.Name(), summary)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(w, "\nflags:")
			fs.SetOutput(w)
			fs.PrintDefaults()
			fs.SetOutput(io.Discard)
		}
	}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		printUsage(stdout)
		return err
	case err != nil:
		fmt.Fprintf(stderr, "authserver %s: %v\n\n", fs.Name(), err)
		printUsage(stderr)
		return usageError{err}
	case fs.NArg() > 0:
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
		fmt.Fprintf(stderr, "authserver %s: %v\n\n", fs.Name(), err)
		printUsage(stderr)
		return usageError{err}
	}
	return nil
}

// noFlags parses the arguments of a subcommand that takes none, so that
// -h and --help work and anything else is refused.
func noFlags(name, summary string, args []string, stdout, stderr io.Writer) error {
	return parseFlags(flag.NewFlagSet(name, flag.ContinueOnError), summary, args, stdout, stderr)
}
