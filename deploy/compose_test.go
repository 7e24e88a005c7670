package deploy

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// loadCompose loads docker-compose.yml the way `docker compose` does, with
// env as the only interpolation environment (never the test's own), and the
// given profiles active.
func loadCompose(t testing.TB, env map[string]string, profiles ...string) *types.Project {
	t.Helper()
	root := repoRoot(t)
	var kv []string
	for k, v := range env {
		kv = append(kv, k+"="+v)
	}
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root),
		cli.WithEnv(kv),
		cli.WithProfiles(profiles),
	)
	if err != nil {
		t.Fatalf("compose options: %v", err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	return p
}

// serviceEnv returns a service's resolved environment.
func serviceEnv(t testing.TB, p *types.Project, name string) map[string]string {
	t.Helper()
	s, ok := p.Services[name]
	if !ok {
		t.Fatalf("compose has no service %q", name)
	}
	env := map[string]string{}
	for k, v := range s.Environment {
		if v == nil {
			t.Fatalf("service %s: %s has no value (it would come from the host's environment)", name, k)
		}
		env[k] = *v
	}
	return env
}

var coreServices = []string{"postgres", "redis", "authserver", "resourceserver"}

func TestComposeServicesAndHealthchecks(t *testing.T) {
	p := loadCompose(t, nil)
	for _, name := range coreServices {
		s, ok := p.Services[name]
		if !ok {
			t.Errorf("service %q is missing", name)
			continue
		}
		hc := s.HealthCheck
		if hc == nil || hc.Disable || len(hc.Test) < 2 || (hc.Test[0] != "CMD" && hc.Test[0] != "CMD-SHELL") {
			t.Errorf("service %q: want an enabled healthcheck with a CMD or CMD-SHELL test, got %+v", name, hc)
			continue
		}
		if hc.Interval == nil || hc.Timeout == nil || hc.Retries == nil {
			t.Errorf("service %q: healthcheck needs interval, timeout and retries", name)
		}
	}
	if img := p.Services["postgres"].Image; !strings.HasPrefix(img, "postgres:16") {
		t.Errorf("postgres image %q, want postgres:16", img)
	}
	if img := p.Services["redis"].Image; !strings.HasPrefix(img, "redis:7") {
		t.Errorf("redis image %q, want redis:7", img)
	}
	// The servers' healthchecks run the probe binary the image ships.
	for _, name := range []string{"authserver", "resourceserver"} {
		test := p.Services[name].HealthCheck.Test
		if test[0] != "CMD" || test[1] != "/usr/local/bin/healthprobe" {
			t.Errorf("service %s: healthcheck %q, want [CMD /usr/local/bin/healthprobe ...] (distroless has no shell)", name, test)
		}
	}
}

func TestComposeDependencies(t *testing.T) {
	p := loadCompose(t, nil, "seed")
	want := map[string]map[string]string{
		"migrate":        {"postgres": types.ServiceConditionHealthy},
		"authserver":     {"postgres": types.ServiceConditionHealthy, "redis": types.ServiceConditionHealthy, "migrate": types.ServiceConditionCompletedSuccessfully},
		"resourceserver": {"postgres": types.ServiceConditionHealthy, "redis": types.ServiceConditionHealthy, "authserver": types.ServiceConditionHealthy},
		"seed-client":    {"migrate": types.ServiceConditionCompletedSuccessfully},
		"seed-superuser": {"migrate": types.ServiceConditionCompletedSuccessfully},
	}
	for svc, deps := range want {
		s, ok := p.Services[svc]
		if !ok {
			t.Errorf("service %q is missing", svc)
			continue
		}
		for dep, cond := range deps {
			d, ok := s.DependsOn[dep]
			if !ok {
				t.Errorf("%s does not depend on %s", svc, dep)
				continue
			}
			if d.Condition != cond {
				t.Errorf("%s depends on %s with condition %q, want %q", svc, dep, d.Condition, cond)
			}
			if cond == types.ServiceConditionHealthy && p.Services[dep].HealthCheck == nil {
				t.Errorf("%s waits for %s to be healthy, but %s has no healthcheck", svc, dep, dep)
			}
		}
	}
}

func TestComposePorts(t *testing.T) {
	p := loadCompose(t, nil)
	for name, port := range map[string]string{"authserver": "8000", "resourceserver": "8001"} {
		s := p.Services[name]
		found := false
		for _, pc := range s.Ports {
			if strconv.Itoa(int(pc.Target)) == port && pc.Published == port {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: port %s is not published as %s:%s (ports %+v)", name, port, port, port, s.Ports)
		}
		if got := serviceEnv(t, p, name)["PORT"]; got != port {
			t.Errorf("%s: PORT=%q, want %s (the published container port)", name, got, port)
		}
	}
	// Changing the host ports moves only the published side.
	p = loadCompose(t, map[string]string{"AUTH_PORT": "18000", "RS_PORT": "18001"})
	if got := p.Services["authserver"].Ports[0]; got.Published != "18000" || got.Target != 8000 {
		t.Errorf("AUTH_PORT=18000: port %+v", got)
	}
	if got := serviceEnv(t, p, "authserver")["ISSUER_URL"]; got != "http://localhost:18000" {
		t.Errorf("AUTH_PORT=18000: ISSUER_URL=%q, want http://localhost:18000", got)
	}
}

func TestComposeEnvironmentPointsAtTheStack(t *testing.T) {
	p := loadCompose(t, map[string]string{"POSTGRES_USER": "u", "POSTGRES_PASSWORD": "pw"})
	pg := serviceEnv(t, p, "postgres")
	dbs := map[string]string{}
	for _, name := range []string{"authserver", "resourceserver", "migrate"} {
		env := serviceEnv(t, p, name)
		u, err := url.Parse(env["DATABASE_URL"])
		if err != nil || u.Scheme != "postgres" || u.Hostname() != "postgres" || u.Port() != "5432" {
			t.Errorf("%s: DATABASE_URL=%q, want postgres://…@postgres:5432/…", name, env["DATABASE_URL"])
			continue
		}
		if pw, _ := u.User.Password(); u.User.Username() != pg["POSTGRES_USER"] || pw != pg["POSTGRES_PASSWORD"] {
			t.Errorf("%s: DATABASE_URL credentials %v differ from the postgres service's", name, u.User)
		}
		dbs[name] = strings.TrimPrefix(u.Path, "/")
		r, err := url.Parse(env["REDIS_URL"])
		if err != nil || r.Scheme != "redis" || r.Hostname() != "redis" || r.Port() != "6379" {
			t.Errorf("%s: REDIS_URL=%q, want redis://redis:6379/…", name, env["REDIS_URL"])
		}
	}
	if dbs["authserver"] != pg["POSTGRES_DB"] || dbs["migrate"] != dbs["authserver"] {
		t.Errorf("the auth server (%q) and its migrate step (%q) must use the database postgres creates (%q)", dbs["authserver"], dbs["migrate"], pg["POSTGRES_DB"])
	}
	// Both services run goose: sharing one database would share its version table.
	if dbs["resourceserver"] == dbs["authserver"] {
		t.Errorf("authserver and resourceserver share database %q", dbs["resourceserver"])
	}
	init, err := os.ReadFile(filepath.Join(repoRoot(t), "deploy", "compose", "postgres-init.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(init), "CREATE DATABASE "+dbs["resourceserver"]+";") {
		t.Errorf("deploy/compose/postgres-init.sql does not create the resourceserver database %q", dbs["resourceserver"])
	}
	mounted := false
	for _, v := range p.Services["postgres"].Volumes {
		if v.Source == filepath.Join(repoRoot(t), "deploy", "compose", "postgres-init.sql") && strings.HasPrefix(v.Target, "/docker-entrypoint-initdb.d/") {
			mounted = true
		}
	}
	if !mounted {
		t.Error("postgres does not mount deploy/compose/postgres-init.sql into /docker-entrypoint-initdb.d")
	}

	as, rs := serviceEnv(t, p, "authserver"), serviceEnv(t, p, "resourceserver")
	if as["REDIS_PREFIX"] != rs["REDIS_PREFIX"] || as["REDIS_URL"] != rs["REDIS_URL"] {
		t.Errorf("revocations are heard only on the same Redis and prefix: authserver %q %q, resourceserver %q %q",
			as["REDIS_URL"], as["REDIS_PREFIX"], rs["REDIS_URL"], rs["REDIS_PREFIX"])
	}
	for _, k := range []string{"AUTH_SERVER_URL", "INTROSPECTION_URL"} {
		u, err := url.Parse(rs[k])
		if err != nil || u.Host != "authserver:8000" {
			t.Errorf("resourceserver %s=%q, want http://authserver:8000/…", k, rs[k])
		}
	}
	// The seeded client is the one the resource server introspects with.
	p = loadCompose(t, map[string]string{"INTROSPECTION_CLIENT_ID": "cid", "INTROSPECTION_CLIENT_SECRET": "sec"}, "seed")
	rs = serviceEnv(t, p, "resourceserver")
	cmd := strings.Join(p.Services["seed-client"].Command, " ")
	if !strings.Contains(cmd, "--client-id="+rs["INTROSPECTION_CLIENT_ID"]) || !strings.Contains(cmd, "--client-secret="+rs["INTROSPECTION_CLIENT_SECRET"]) {
		t.Errorf("seed-client command %q does not register the resource server's client %q", cmd, rs["INTROSPECTION_CLIENT_ID"])
	}
}

func TestComposeBuilds(t *testing.T) {
	root := repoRoot(t)
	p := loadCompose(t, nil, "seed")
	stages := dockerfileStages(t)
	for _, name := range []string{"migrate", "authserver", "resourceserver", "seed-client", "seed-superuser"} {
		s := p.Services[name]
		if s.Build == nil {
			t.Errorf("%s has no build section", name)
			continue
		}
		if s.Build.Context != root {
			t.Errorf("%s: build context %q, want the repository root (go.work)", name, s.Build.Context)
		}
		if filepath.Join(s.Build.Context, s.Build.Dockerfile) != filepath.Join(root, "deploy", "Dockerfile") {
			t.Errorf("%s: dockerfile %q, want deploy/Dockerfile", name, s.Build.Dockerfile)
		}
		if _, ok := stages[s.Build.Target]; !ok {
			t.Errorf("%s: build target %q is not a stage of deploy/Dockerfile", name, s.Build.Target)
		}
		wantTarget := "authserver"
		if name == "resourceserver" {
			wantTarget = "resourceserver"
		}
		if s.Build.Target != wantTarget || !strings.HasPrefix(s.Image, "portcullis/"+wantTarget+":") {
			t.Errorf("%s: target %q image %q, want target %s", name, s.Build.Target, s.Image, wantTarget)
		}
	}
}

// envNames returns every ${NAME...} a file interpolates ($${NAME} is an
// escaped dollar, left to the container's shell).
func envNames(t testing.TB, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`(?:^|[^$])\$\{([A-Z][A-Z0-9_]*)`).FindAllStringSubmatch(string(b), -1) {
		if !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}

func TestEnvExampleDocumentsEveryVariable(t *testing.T) {
	root := repoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	documented := map[string]bool{}
	for i, l := range lines {
		k, _, ok := strings.Cut(l, "=")
		if !ok || strings.HasPrefix(l, "#") || strings.TrimSpace(l) == "" {
			continue
		}
		if i == 0 || !strings.HasPrefix(lines[i-1], "#") {
			t.Errorf(".env.example: %s has no comment line above it", k)
		}
		documented[k] = true
	}
	used := envNames(t, filepath.Join(root, "docker-compose.yml"))
	if len(used) < 10 {
		t.Fatalf("found only %d interpolated variables in docker-compose.yml: %v", len(used), used)
	}
	for _, k := range used {
		if !documented[k] {
			t.Errorf("docker-compose.yml uses ${%s} but .env.example does not document it", k)
		}
	}
	for k := range documented {
		if !slices.Contains(used, k) {
			t.Errorf(".env.example documents %s, which docker-compose.yml never uses", k)
		}
	}
	// .env.example as the .env must load, and give the same stack as no .env.
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root), cli.WithEnvFiles(filepath.Join(root, ".env.example")), cli.WithDotEnv)
	if err != nil {
		t.Fatal(err)
	}
	withExample, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("docker-compose.yml with .env.example as .env: %v", err)
	}
	plain := loadCompose(t, nil)
	for _, svc := range []string{"authserver", "resourceserver"} {
		a, b := serviceEnv(t, withExample, svc), serviceEnv(t, plain, svc)
		for k, v := range b {
			if a[k] != v {
				t.Errorf("%s: %s is %q with .env.example but %q without: the example must show the defaults", svc, k, a[k], v)
			}
		}
	}
}

// configEnvNames returns the environment variable names a service's config.go
// reads: its upper-case string literals.
func configEnvNames(t testing.TB, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	re := regexp.MustCompile(`^[A-Z][A-Z0-9_]{2,}$`)
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if s, err := strconv.Unquote(lit.Value); err == nil && re.MatchString(s) && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		return true
	})
	return out
}

// TestComposeSetsEverySetting keeps compose in step with the servers: every
// variable a server's config.go reads can be set from .env.
func TestComposeSetsEverySetting(t *testing.T) {
	root := repoRoot(t)
	p := loadCompose(t, nil)
	for svc, cfg := range map[string]string{
		"authserver":     "authserver/cmd/authserver/config.go",
		"resourceserver": "resourceserver/cmd/resourceserver/config.go",
	} {
		names := configEnvNames(t, filepath.Join(root, cfg))
		if !slices.Contains(names, "DATABASE_URL") || !slices.Contains(names, "PORT") {
			t.Fatalf("%s: found %v, not the names it reads", cfg, names)
		}
		env := serviceEnv(t, p, svc)
		for _, k := range names {
			if _, ok := env[k]; !ok {
				t.Errorf("%s reads %s, which docker-compose.yml does not pass to the %s service", cfg, k, svc)
			}
		}
	}
}

// TestComposeKeepsSecureCookiesBehindTLS is issue 12's defect 7: compose's
// default for SESSION_COOKIE_SECURE must not switch off the Secure flag the
// auth server sets by itself for an https ISSUER_URL (empty means "decide
// from ISSUER_URL"; "false" overrides it).
func TestComposeKeepsSecureCookiesBehindTLS(t *testing.T) {
	for _, envFile := range []map[string]string{nil, readDotEnv(t, filepath.Join(repoRoot(t), ".env.example"))} {
		vars := map[string]string{}
		for k, v := range envFile {
			vars[k] = v
		}
		vars["ISSUER_URL"] = "https://auth.example.com"
		env := serviceEnv(t, loadCompose(t, vars), "authserver")
		if v := env["SESSION_COOKIE_SECURE"]; v != "" && v != "true" {
			t.Errorf("with ISSUER_URL=https://… (and .env.example: %v), SESSION_COOKIE_SECURE=%q overrides the automatic Secure flag", envFile != nil, v)
		}
	}
}

// readDotEnv reads the NAME=value lines of an env file.
func readDotEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			out[k] = v
		}
	}
	return out
}
