// Command authserver is the Portcullis OAuth2 authorization server. Its
// subcommands mirror the tutorial's manage.py: serve, migrate,
// createsuperuser and createclient. Configuration comes from the
// environment (see the README); main only wires packages together.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: authserver <command> [flags]

commands:
  serve             run the HTTP server (migrates first)
  migrate           apply the database migrations
  createsuperuser   create a staff superuser (prompts, or --email E --no-input with SUPERUSER_PASSWORD)
  createclient      register an OAuth application (see createclient -h)
  keys              list or rotate the OpenID Connect signing keys (see keys -h)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run executes one subcommand and returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		args = []string{"serve"}
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "authserver: configuration:\n%v\n", err)
		return 2
	}
	switch args[0] {
	case "serve":
		err = serve(ctx, cfg, stderr)
	case "migrate":
		err = migrate(ctx, cfg, stdout)
	case "createsuperuser":
		err = createSuperuser(ctx, cfg, args[1:], stdin, stdout, stderr, getenv)
	case "createclient":
		err = createClient(ctx, cfg, args[1:], stdout, stderr)
	case "keys":
		err = keys(ctx, cfg, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "authserver: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	case errors.Is(err, context.Canceled):
		return 130
	}
	fmt.Fprintf(stderr, "authserver: %v\n", err)
	return 1
}

// usageError is a flag problem that the flag package already reported.
type usageError struct{ error }
