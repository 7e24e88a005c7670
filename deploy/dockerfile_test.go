package deploy

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"golang.org/x/mod/modfile"
)

// finalStages are the Dockerfile's image targets and the binary each ships.
var finalStages = map[string]string{
	"authserver":     "/usr/local/bin/authserver",
	"resourceserver": "/usr/local/bin/resourceserver",
}

// parseDockerfile parses deploy/Dockerfile with BuildKit's own parser and
// linter; any lint warning fails the test.
func parseDockerfile(t testing.TB) []instructions.Stage {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(t), "deploy", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("deploy/Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("deploy/Dockerfile: parser warning: %s", w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, desc, url, msg string, loc []parser.Range) {
		t.Errorf("deploy/Dockerfile: lint %s: %s", rule, msg)
	}})
	stages, _, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("deploy/Dockerfile: %v", err)
	}
	return stages
}

func dockerfileStages(t testing.TB) map[string]instructions.Stage {
	t.Helper()
	m := map[string]instructions.Stage{}
	for _, s := range parseDockerfile(t) {
		m[s.Name] = s
	}
	return m
}

// stageEnv is the ENV a stage sets, following its FROM chain inside the file.
func stageEnv(stages map[string]instructions.Stage, name string) map[string]string {
	env := map[string]string{}
	s, ok := stages[name]
	if !ok {
		return env
	}
	if s.BaseName != name {
		for k, v := range stageEnv(stages, s.BaseName) {
			env[k] = v
		}
	}
	for _, c := range s.Commands {
		if e, ok := c.(*instructions.EnvCommand); ok {
			for _, kv := range e.Env {
				env[kv.Key] = kv.Value
			}
		}
	}
	return env
}

// rootImage follows a stage's FROM chain inside the file to an image.
func rootImage(stages map[string]instructions.Stage, name string) string {
	for i := 0; i < len(stages); i++ {
		s, ok := stages[name]
		if !ok {
			return name
		}
		name = s.BaseName
	}
	return name
}

func TestDockerfile(t *testing.T) {
	stages := dockerfileStages(t)
	if len(stages) < 3 {
		t.Fatalf("want a multi-stage Dockerfile (builders and images), got %d stages", len(stages))
	}
	for target, bin := range finalStages {
		s, ok := stages[target]
		if !ok {
			t.Errorf("no stage named %q", target)
			continue
		}
		if !strings.HasPrefix(s.BaseName, "gcr.io/distroless/static") && s.BaseName != "scratch" {
			t.Errorf("%s: final image from %q, want distroless static or scratch", target, s.BaseName)
		}
		var user string
		var health *instructions.HealthCheckCommand
		var entry []string
		copied := map[string]string{} // destination -> source stage
		for _, c := range s.Commands {
			switch c := c.(type) {
			case *instructions.UserCommand:
				user = c.User
			case *instructions.HealthCheckCommand:
				health = c
			case *instructions.EntrypointCommand:
				entry = c.CmdLine
				if c.PrependShell {
					t.Errorf("%s: ENTRYPOINT must use the exec form (no shell in the image)", target)
				}
			case *instructions.CopyCommand:
				if c.From == "" {
					t.Errorf("%s: COPY from the build context into the final image; copy only built binaries", target)
				}
				if _, ok := stages[c.From]; !ok {
					t.Errorf("%s: COPY --from=%s names no stage", target, c.From)
				}
				copied[c.DestPath] = c.From
			case *instructions.RunCommand:
				t.Errorf("%s: RUN in the final stage (distroless has no shell): %v", target, c.CmdLine)
			}
		}
		uid, _, _ := strings.Cut(user, ":")
		if user == "" || uid == "root" || uid == "0" {
			t.Errorf("%s: USER %q, want a non-root user", target, user)
		}
		if health == nil || health.Health == nil || len(health.Health.Test) < 2 || health.Health.Test[0] != "CMD" {
			t.Errorf("%s: want HEALTHCHECK CMD [...] in exec form, got %+v", target, health)
		} else if probe := health.Health.Test[1]; copied[probe] == "" {
			t.Errorf("%s: HEALTHCHECK runs %s, which the stage does not COPY in", target, probe)
		}
		if len(entry) != 1 || entry[0] != bin || copied[bin] == "" {
			t.Errorf("%s: ENTRYPOINT %v, want [%s] copied from a builder", target, entry, bin)
		}
		if env := stageEnv(stages, target); env["PORT"] == "" {
			t.Errorf("%s: no ENV PORT: the health probe needs it", target)
		}
	}
	// Every builder compiles statically, trimmed and stripped.
	builds := 0
	for name, s := range stages {
		for _, c := range s.Commands {
			run, ok := c.(*instructions.RunCommand)
			if !ok || !strings.Contains(strings.Join(run.CmdLine, " "), "go build") {
				continue
			}
			builds++
			line := strings.Join(run.CmdLine, " ")
			if env := stageEnv(stages, name); env["CGO_ENABLED"] != "0" {
				t.Errorf("stage %s builds with CGO_ENABLED=%q, want 0", name, env["CGO_ENABLED"])
			}
			for _, flag := range []string{"-trimpath", `-ldflags="-s -w"`} {
				if !strings.Contains(line, flag) {
					t.Errorf("stage %s: %q lacks %s", name, line, flag)
				}
			}
			if img := rootImage(stages, name); !strings.HasPrefix(img, "golang:") {
				t.Errorf("stage %s builds on %q, want the golang image", name, img)
			}
		}
	}
	if builds != 3 {
		t.Errorf("found %d go build steps, want 3 (authserver, resourceserver, healthprobe)", builds)
	}
}

// TestDockerignoreKeepsTheWorkspace checks that the .dockerignore drops no
// module named in go.work: the build runs in workspace mode.
func TestDockerignoreKeepsTheWorkspace(t *testing.T) {
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "deploy", "Dockerfile.dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, strings.TrimPrefix(l, "/"))
		}
	}
	keep := []string{"go.work", "go.work.sum"}
	for _, m := range workspaceModules(t) {
		keep = append(keep, m, m+"/go.mod")
	}
	for _, k := range keep {
		for _, p := range patterns {
			if ok, _ := filepath.Match(p, k); ok || p == k {
				t.Errorf("Dockerfile.dockerignore pattern %q drops %s", p, k)
			}
		}
	}
}

// workspaceModules returns the directories go.work uses, like "authserver".
func workspaceModules(t testing.TB) []string {
	t.Helper()
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "go.work"))
	if err != nil {
		t.Fatal(err)
	}
	wf, err := modfile.ParseWork("go.work", b, nil)
	if err != nil {
		t.Fatalf("go.work: %v", err)
	}
	var out []string
	for _, u := range wf.Use {
		out = append(out, filepath.Clean(u.Path))
	}
	if !slices.Contains(out, "deploy") {
		t.Errorf("go.work does not use ./deploy")
	}
	return out
}

var (
	imageBinsOnce sync.Once
	imageBinsDir  string
	imageBins     map[string]string
	imageBinsErr  string
)

// TestMain removes the shared image-build directory after all tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if imageBinsDir != "" {
		_ = os.RemoveAll(imageBinsDir)
	}
	os.Exit(code)
}

// buildImageBinaries replays the Dockerfile's builder stages outside a
// container: it copies the build context (go.work, go.work.sum and every
// workspace module) into a temporary directory, then runs each stage's
// `go build` RUN line there with the stage's ENV, the output directory
// /out mapped to a temporary one. It returns the binaries by name. The work
// is done once per test binary.
func buildImageBinaries(t *testing.T) map[string]string {
	t.Helper()
	imageBinsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "portcullis-image-build-")
		if err != nil {
			imageBinsErr = err.Error()
			return
		}
		imageBinsDir = dir
		imageBins, imageBinsErr = replayBuild(t, dir)
	})
	if imageBinsErr != "" {
		t.Fatalf("building the image binaries as deploy/Dockerfile does: %s", imageBinsErr)
	}
	return imageBins
}

func replayBuild(t *testing.T, dir string) (map[string]string, string) {
	root := repoRoot(t)
	src, out := filepath.Join(dir, "src"), filepath.Join(dir, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err.Error()
	}
	for _, f := range []string{"go.work", "go.work.sum"} {
		if err := copyTree(filepath.Join(root, f), filepath.Join(src, f)); err != nil {
			return nil, err.Error()
		}
	}
	for _, m := range workspaceModules(t) {
		if err := copyTree(filepath.Join(root, m), filepath.Join(src, m)); err != nil {
			return nil, err.Error()
		}
	}
	stages := dockerfileStages(t)
	bins := map[string]string{}
	for name, s := range stages {
		env := stageEnv(stages, name)
		for _, c := range s.Commands {
			run, ok := c.(*instructions.RunCommand)
			if !ok || !run.PrependShell {
				continue
			}
			line := strings.ReplaceAll(strings.Join(run.CmdLine, " "), "/out/", out+"/")
			cmd := exec.Command("sh", "-c", line)
			cmd.Dir = src
			cmd.Env = workspaceEnv()
			for k, v := range env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			if b, err := cmd.CombinedOutput(); err != nil {
				return nil, "stage " + name + ": " + line + ": " + err.Error() + "\n" + string(b)
			}
		}
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return nil, err.Error()
	}
	for _, e := range entries {
		bins[e.Name()] = filepath.Join(out, e.Name())
	}
	return bins, ""
}

// copyTree copies a file or directory, skipping what the .dockerignore
// drops from the context (local data, databases, test binaries).
func copyTree(from, to string) error {
	return filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if info.IsDir() {
			if info.Name() == "data" && filepath.Dir(p) == from {
				return filepath.SkipDir
			}
			return os.MkdirAll(dst, 0o755)
		}
		if !info.Mode().IsRegular() || strings.HasSuffix(p, ".test") || strings.HasSuffix(p, ".db") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, info.Mode().Perm())
	})
}

func TestDockerfileBuildsStaticBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED in -short: compiles the three image binaries")
	}
	bins := buildImageBinaries(t)
	for _, name := range []string{"authserver", "resourceserver", "healthprobe"} {
		p, ok := bins[name]
		if !ok {
			t.Errorf("the Dockerfile's builders made no %s (made %v)", name, bins)
			continue
		}
		f, err := elf.Open(p)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for _, prog := range f.Progs {
			if prog.Type == elf.PT_INTERP {
				t.Errorf("%s is dynamically linked: distroless/static cannot run it", name)
			}
		}
		if f.Section(".symtab") != nil {
			t.Errorf("%s keeps its symbol table: -ldflags -s did not apply", name)
		}
		f.Close()
	}
}
