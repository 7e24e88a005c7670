// Package modproxy publishes the repository's modules, as they are in the
// working tree, into a file-based Go module proxy (GOPROXY=file://…), so
// that `go get`, `go install …@v0.1.0` and `go mod tidy` with GOWORK=off see
// what a stranger would see once the modules are tagged, without needing
// the tags. See https://go.dev/ref/mod#goproxy-protocol for the layout.
package modproxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

// Version is the version every module is published at: the first release.
const Version = "v0.1.0"

// PathPrefix is the common prefix of the repository's module paths; go.sum
// lines and GONOSUMDB are matched against it.
const PathPrefix = "github.com/portcullis-oauth/portcullis"

// Module is one module of the workspace.
type Module struct {
	Path string // module path, e.g. github.com/portcullis-oauth/portcullis/shared
	Dir  string // absolute directory holding its go.mod
}

// Modules lists the modules named by root/go.work, in go.work's order.
func Modules(root string) ([]Module, error) {
	data, err := os.ReadFile(filepath.Join(root, "go.work"))
	if err != nil {
		return nil, fmt.Errorf("modproxy: modules: %w", err)
	}
	wf, err := modfile.ParseWork("go.work", data, nil)
	if err != nil {
		return nil, fmt.Errorf("modproxy: modules: %w", err)
	}
	var mods []Module
	for _, u := range wf.Use {
		dir := filepath.Join(root, filepath.FromSlash(u.Path))
		gm, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err != nil {
			return nil, fmt.Errorf("modproxy: modules: %w", err)
		}
		path := modfile.ModulePath(gm)
		if path == "" {
			return nil, fmt.Errorf("modproxy: modules: %s/go.mod names no module", u.Path)
		}
		mods = append(mods, Module{Path: path, Dir: dir})
	}
	return mods, nil
}

// Build writes every module of root's go.work at Version into dir, laid out
// as a GOPROXY (list, .info, .mod, .zip). A module's zip holds the files git
// would commit from the working tree (tracked or untracked, never ignored),
// so a local change is published without a commit. It returns the modules.
func Build(root, dir string) ([]Module, error) {
	mods, err := Modules(root)
	if err != nil {
		return nil, err
	}
	info, err := json.Marshal(struct{ Version, Time string }{Version, time.Now().UTC().Format(time.RFC3339)})
	if err != nil {
		return nil, fmt.Errorf("modproxy: build: %w", err)
	}
	for _, m := range mods {
		esc, err := module.EscapePath(m.Path)
		if err != nil {
			return nil, fmt.Errorf("modproxy: build: %w", err)
		}
		vdir := filepath.Join(dir, filepath.FromSlash(esc), "@v")
		if err := os.MkdirAll(vdir, 0o755); err != nil {
			return nil, fmt.Errorf("modproxy: build: %w", err)
		}
		gomod, err := os.ReadFile(filepath.Join(m.Dir, "go.mod"))
		if err != nil {
			return nil, fmt.Errorf("modproxy: build: %w", err)
		}
		files, err := moduleFiles(m.Dir)
		if err != nil {
			return nil, err
		}
		var zbuf bytes.Buffer
		if err := zip.Create(&zbuf, module.Version{Path: m.Path, Version: Version}, files); err != nil {
			return nil, fmt.Errorf("modproxy: build %s: %w", m.Path, err)
		}
		for name, body := range map[string][]byte{
			"list":            []byte(Version + "\n"),
			Version + ".info": info,
			Version + ".mod":  gomod,
			Version + ".zip":  zbuf.Bytes(),
		} {
			if err := os.WriteFile(filepath.Join(vdir, name), body, 0o644); err != nil {
				return nil, fmt.Errorf("modproxy: build: %w", err)
			}
		}
	}
	return mods, nil
}

// moduleFiles lists the files of the module in dir that git would commit,
// leaving out nested modules (directories with their own go.mod).
func moduleFiles(dir string) ([]zip.File, error) {
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", ".")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("modproxy: git ls-files in %s: %w", dir, err)
	}
	var files []zip.File
	for _, rel := range strings.Split(string(out), "\x00") {
		if rel == "" {
			continue
		}
		abs := filepath.Join(dir, filepath.FromSlash(rel))
		if _, err := os.Lstat(abs); errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the working tree, not yet committed
		}
		if nested(dir, filepath.Dir(abs)) {
			continue
		}
		files = append(files, file{rel: rel, abs: abs})
	}
	return files, nil
}

// nested reports whether d, a directory below root, lies in another module.
func nested(root, d string) bool {
	for d != root && strings.HasPrefix(d, root) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return true
		}
		d = filepath.Dir(d)
	}
	return false
}

type file struct{ rel, abs string }

func (f file) Path() string                 { return f.rel }
func (f file) Lstat() (os.FileInfo, error)  { return os.Lstat(f.abs) }
func (f file) Open() (io.ReadCloser, error) { return os.Open(f.abs) }

// Env is the environment for the go command to resolve the repository's
// modules from the proxy in dir as a stranger would: no workspace, the
// proxy first and the user's usual proxies after it, no checksum database
// for our path, go.mod and go.sum updated as needed, and a module cache of
// its own (modcache), so that the published v0.1.0 never enters the user's
// cache, where a later, different v0.1.0 would clash with it, and with the
// go command's index of module directories off.
func Env(dir, modcache string) []string {
	upstream := goEnv("GOPROXY")
	if upstream == "" || upstream == "off" {
		upstream = "https://proxy.golang.org,direct"
	}
	proxy := "file://" + filepath.ToSlash(dir)
	// The user's module cache is itself a proxy: modules already downloaded
	// are not fetched again.
	if mc := goEnv("GOMODCACHE"); mc != "" && mc != modcache {
		proxy += ",file://" + filepath.ToSlash(filepath.Join(mc, "cache", "download"))
	}
	return []string{
		"GOWORK=off",
		"GOPROXY=" + proxy + "," + upstream,
		"GONOSUMDB=" + PathPrefix,
		"GOFLAGS=-mod=mod",
		"GOMODCACHE=" + modcache,
		// The go command indexes a module cache's directories once, in
		// GOCACHE, trusting that a version never changes; ours does.
		"GODEBUG=goindex=0",
	}
}

// Forget removes the repository's modules from modcache, so that the next
// command takes them from the proxy again (a module cache keeps a version
// forever). The cache's files are read-only, as the go command leaves them.
func Forget(modcache string) error {
	for _, d := range []string{
		filepath.Join(modcache, filepath.FromSlash(PathPrefix)),
		filepath.Join(modcache, "cache", "download", filepath.FromSlash(PathPrefix)),
	} {
		_ = filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				_ = os.Chmod(p, 0o755)
			}
			return nil
		})
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("modproxy: forget: %w", err)
		}
	}
	return nil
}

// CacheDir is the module cache kept for root's published modules, under the
// user's cache directory and named after root, so that two checkouts on one
// machine never share it.
func CacheDir(root string) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("modproxy: cache dir: %w", err)
	}
	name := strings.NewReplacer("/", "_", "\\", "_", ":", "_").Replace(strings.Trim(root, "/\\"))
	return filepath.Join(base, "portcullis-modcache", name), nil
}

func goEnv(name string) string {
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
