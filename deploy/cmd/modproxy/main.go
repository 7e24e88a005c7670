// Command modproxy publishes the repository's modules, as they are in the
// working tree, at v0.1.0 into a file-based GOPROXY, and runs the go command
// against it the way a stranger's machine would (GOWORK=off):
//
//	modproxy build DIR          write the proxy into DIR
//	modproxy tidy               go mod tidy in every module (go.sum gets our v0.1.0 lines anew)
//	modproxy tidy -diff         fail when any module is not tidy (make lint)
//	modproxy exec -- CMD ARG…   run CMD in every module, e.g. go test ./...
//
// Run it from anywhere in the repository.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/portcullis-oauth/portcullis/deploy/internal/modproxy"
)

const usage = `usage: modproxy build DIR | tidy [-diff] | exec -- CMD [ARG...]

Publishes every module of go.work at ` + modproxy.Version + ` from the working tree into a
file-based GOPROXY and runs the go command against it with GOWORK=off.
`

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "modproxy:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command")
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	case "build":
		if len(args) != 2 {
			return errors.New("build takes one directory")
		}
		_, err := modproxy.Build(root, args[1])
		return err
	case "tidy":
		fs := flag.NewFlagSet("tidy", flag.ContinueOnError)
		diff := fs.Bool("diff", false, "report, do not write")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *diff {
			return each(root, stdout, stderr, func(modproxy.Module) ([]string, error) {
				return []string{"go", "mod", "tidy", "-diff"}, nil
			})
		}
		// A module's zip holds its go.sum, so tidying middleware changes
		// the middleware v0.1.0 that e2e and resourceserver recorded a
		// moment before: repeat until a round changes nothing.
		for range 4 {
			before, err := moduleFiles(root)
			if err != nil {
				return err
			}
			if err := each(root, stdout, stderr, func(m modproxy.Module) ([]string, error) {
				return []string{"go", "mod", "tidy"}, dropOwnSums(m.Dir)
			}); err != nil {
				return err
			}
			after, err := moduleFiles(root)
			if err != nil {
				return err
			}
			if after == before {
				return nil
			}
		}
		return errors.New("tidy: go.mod and go.sum still change after four rounds")
	case "exec":
		cmd := args[1:]
		if len(cmd) > 0 && cmd[0] == "--" {
			cmd = cmd[1:]
		}
		if len(cmd) == 0 {
			return errors.New("exec needs a command")
		}
		return each(root, stdout, stderr, func(modproxy.Module) ([]string, error) { return cmd, nil })
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

// each publishes the proxy and runs the command cmdFor gives in every
// module, going on after a failure so that one run names every module
// that fails.
func each(root string, stdout, stderr io.Writer, cmdFor func(modproxy.Module) ([]string, error)) error {
	proxyDir, err := os.MkdirTemp("", "portcullis-goproxy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(proxyDir)
	mods, err := modproxy.Build(root, proxyDir)
	if err != nil {
		return err
	}
	cache, err := modproxy.CacheDir(root)
	if err != nil {
		return err
	}
	if err := modproxy.Forget(cache); err != nil {
		return err
	}
	env := append(os.Environ(), modproxy.Env(proxyDir, cache)...)
	var failed []string
	for _, m := range mods {
		argv, err := cmdFor(m)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, m.Dir)
		fmt.Fprintf(stdout, "== %s: %s\n", rel, strings.Join(argv, " "))
		c := exec.Command(argv[0], argv[1:]...)
		c.Dir, c.Env, c.Stdout, c.Stderr = m.Dir, env, stdout, stderr
		if err := c.Run(); err != nil {
			failed = append(failed, rel)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("failed in %s (with GOWORK=off; `make tidy` rewrites go.mod and go.sum)", strings.Join(failed, ", "))
	}
	return nil
}

// moduleFiles is every module's go.mod and go.sum, concatenated.
func moduleFiles(root string) (string, error) {
	mods, err := modproxy.Modules(root)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, m := range mods {
		for _, f := range []string{"go.mod", "go.sum"} {
			data, err := os.ReadFile(filepath.Join(m.Dir, f))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return "", err
			}
			b.Write(data)
		}
	}
	return b.String(), nil
}

// dropOwnSums removes the go.sum lines of our own modules, whose v0.1.0
// changes with the tree until it is tagged, so that tidy writes them anew
// instead of failing on a checksum mismatch.
func dropOwnSums(dir string) error {
	p := filepath.Join(dir, "go.sum")
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	var kept bytes.Buffer
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if !strings.HasPrefix(line, modproxy.PathPrefix+"/") {
			kept.WriteString(line)
		}
	}
	return os.WriteFile(p, kept.Bytes(), 0o644)
}

// repoRoot is the nearest directory up from here holding go.work.
func repoRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return d, nil
		}
		up := filepath.Dir(d)
		if up == d {
			return "", errors.New("no go.work here or above")
		}
		d = up
	}
}
