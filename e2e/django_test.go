package e2e

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// The Django harness: the tutorial's auth server (Part 1), built from the
// seed's own code blocks on Debian's Django 3.2, Django OAuth Toolkit 1.7,
// Django REST framework and gunicorn (which .ci/run installs).

// djangoPython returns a Python that imports Django, DOT, DRF and gunicorn
// (DJANGO_PYTHON, else Debian's /usr/bin/python3, else python3 on PATH),
// or ends the test through servicetest.Missing (a failure under CI=true).
func djangoPython(t testing.TB) string {
	t.Helper()
	var tried []string
	for _, py := range []string{os.Getenv("DJANGO_PYTHON"), "/usr/bin/python3", "python3"} {
		if py == "" {
			continue
		}
		tried = append(tried, py)
		if exec.Command(py, "-c", "import django, oauth2_provider, rest_framework, gunicorn, psycopg2").Run() == nil {
			return py
		}
	}
	servicetest.Missing(t, "Django OAuth Toolkit (tried "+strings.Join(tried, ", ")+
		"): apt-get install python3-django-oauth-toolkit python3-djangorestframework python3-django gunicorn python3-psycopg2")
	return ""
}

// djangoProject is the tutorial's project in a temporary directory.
type djangoProject struct {
	dir, py string
	env     []string
	URL     string // set by serve
}

// seedBlocks returns the seed's code blocks by the path on their first
// line ("### users/models.py"); a later block for the same path wins.
func seedBlocks(t testing.TB) map[string]string {
	t.Helper()
	_, self, _, _ := runtime.Caller(0)
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(self), "..", "..", "shared", "seed", "000_*.txt"))
	if len(matches) == 0 {
		t.Fatal("the tutorial (../shared/seed/000_*.txt beside the repository) is missing")
	}
	b, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	re := regexp.MustCompile("(?s)```python\n### ([^\n]+)\n(.*?)```")
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		out[strings.TrimSpace(m[1])] = m[2]
	}
	return out
}

// djangoSettings is appended to startproject's settings: the database
// from DJANGO_DB (sqlite:PATH or a postgres:// URL whose search_path
// names the schema), and the loopback host gunicorn serves.
const djangoSettings = `
import os as _os, urllib.parse as _up
_db = _os.environ['DJANGO_DB']
if _db.startswith('sqlite:'):
    DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', 'NAME': _db[len('sqlite:'):]}}
else:
    _u = _up.urlparse(_db)
    _q = _up.parse_qs(_u.query)
    DATABASES = {'default': {
        'ENGINE': 'django.db.backends.postgresql', 'NAME': _u.path.lstrip('/'),
        'USER': _u.username or '', 'PASSWORD': _u.password or '', 'HOST': _u.hostname, 'PORT': _u.port or 5432,
        'OPTIONS': {'options': '-c search_path=' + _q['search_path'][0]} if 'search_path' in _q else {},
    }}
ALLOWED_HOSTS = ['127.0.0.1', 'localhost']
`

// newDjangoProject builds the tutorial's project on database dbURL
// (sqlite:PATH or postgres://…) and migrates it.
func newDjangoProject(t testing.TB, dbURL string) *djangoProject {
	t.Helper()
	py := djangoPython(t)
	p := &djangoProject{dir: t.TempDir(), py: py,
		env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "DJANGO_DB=" + dbURL, "PYTHONDONTWRITEBYTECODE=1"}}
	p.run(t, "-m", "django", "startproject", "_project", ".")
	p.manage(t, "startapp", "users")
	blocks := seedBlocks(t)
	for _, f := range []string{"users/managers.py", "users/models.py", "users/forms.py", "users/admin.py",
		"users/serializers.py", "users/views.py", "users/urls.py", "_project/urls.py"} {
		src, ok := blocks[f]
		if !ok {
			t.Fatalf("the seed has no code block for %s", f)
		}
		if f == "users/models.py" {
			// The seed leaves AbstractUser's REQUIRED_FIELDS = ['email'],
			// which Django refuses beside USERNAME_FIELD = 'email'
			// (auth.E002); the tutorial's repository clears it.
			src = strings.Replace(src, "USERNAME_FIELD = 'email'", "USERNAME_FIELD = 'email'\n    REQUIRED_FIELDS = []", 1)
		}
		if err := os.WriteFile(filepath.Join(p.dir, f), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The seed's settings block sets INSTALLED_APPS, AUTH_USER_MODEL,
	// OAUTH2_PROVIDER and REST_FRAMEWORK; its "..." lines stand for
	// startproject's settings.
	var extra []string
	for _, l := range strings.Split(blocks["_project/settings.py"], "\n") {
		if strings.TrimSpace(l) != "..." {
			extra = append(extra, l)
		}
	}
	settings := filepath.Join(p.dir, "_project", "settings.py")
	f, err := os.OpenFile(settings, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString("\n" + strings.Join(extra, "\n") + djangoSettings)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	p.manage(t, "makemigrations", "users")
	p.manage(t, "migrate")
	return p
}

// run runs the project's Python with args and returns its stdout.
func (p *djangoProject) run(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command(p.py, args...)
	cmd.Dir, cmd.Env = p.dir, p.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("python %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

func (p *djangoProject) manage(t testing.TB, args ...string) string {
	t.Helper()
	return p.run(t, append([]string{"manage.py"}, args...)...)
}

// shell runs Python code in manage.py shell and returns what it printed.
func (p *djangoProject) shell(t testing.TB, code string) string {
	t.Helper()
	return strings.TrimSpace(p.manage(t, "shell", "-c", code))
}

// serve runs the project under gunicorn on a free loopback port until the
// test ends (stopped by PID), and waits until DOT's token endpoint answers.
func (p *djangoProject) serve(t testing.TB) {
	t.Helper()
	port := freePort(t)
	cmd := exec.Command(p.py, "-m", "gunicorn", "-w", "2", "-b", "127.0.0.1:"+strconv.Itoa(port), "_project.wsgi:application")
	cmd.Dir, cmd.Env = p.dir, p.env
	proc := servicetest.Start(t, "gunicorn", cmd, nil, 30*time.Second)
	p.URL = "http://127.0.0.1:" + strconv.Itoa(port)
	up := servicetest.Until(60*time.Second, func() bool {
		if proc.Exited() {
			return true
		}
		resp, err := http.Get(p.URL + "/o/token/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusMethodNotAllowed
	})
	if exited := proc.Exited(); exited || !up {
		t.Fatalf("gunicorn did not answer on %s (exited: %v):\n%s", p.URL, exited, proc.Out.String())
	}
}
