// Command bench is the performance record behind `make bench`: it starts the
// real auth server and resource server against real PostgreSQL and Redis,
// drives them with wrk (vegeta when wrk is missing) at a fixed number of
// connections, and prints one table in which every figure stands next to
// its same-run baseline and the target.
//
// Usage:
//
//	bench [run] -authserver BIN -resourceserver BIN -benchseed BIN [-micro FILE] [-out FILE] [flags]
//	bench bare -port N   (internal: a bare Gin JSON handler)
//	bench mw -port N -introspect URL -client-id ID -client-secret S
//	                     (internal: /bare and /protected behind ginauth)
//	bench argon2 [-m -t -p -key -salt -for -workers]
//	                     (internal: raw argon2id, the password baseline)
//
// deploy/bench.sh builds the binaries and runs it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	args := os.Args[1:]
	cmd := "run"
	if len(args) > 0 && (args[0] == "run" || args[0] == "bare" || args[0] == "mw" || args[0] == "argon2") {
		cmd, args = args[0], args[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd {
	case "bare":
		err = serveBare(ctx, args)
	case "mw":
		err = serveMW(ctx, args)
	case "argon2":
		err = serveArgon(ctx, args)
	default:
		err = run(ctx, args)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
