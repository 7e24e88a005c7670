package e2e

import (
	"fmt"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

var (
	csrfRE   = regexp.MustCompile(`name="csrfmiddlewaretoken" value="([^"]+)"`)
	adminApp = regexp.MustCompile(`/admin/applications/(\d+)/`)
	accessRE = regexp.MustCompile(`"access_token":"([^"]+)"`)
)

// TestDeleteApplicationOnOneReplica: two auth servers share one database
// and Redis. While clients hammer replica B for tokens of an application
// (client_credentials and password grants, eight loops), an admin deletes
// the application on replica A. Once the delete has returned, B issues no
// token for it, and every token issued for it before is refused by
// introspection on both replicas and by the resource server, which had
// cached some of them.
func TestDeleteApplicationOnOneReplica(t *testing.T) {
	b := realBackend(t)
	a := startAuth(t, b, nil)
	env := authEnv(b, nil)
	cli(t, env, "createclient", "--name", "doomed", "--client-id", "doomed-id", "--client-secret", "doomed-secret",
		"--client-type", "confidential", "--grant-types", "password,refresh_token,client_credentials")
	superEnv := authEnv(b, map[string]string{"SUPERUSER_PASSWORD": "admin-Passw0rd-1"})
	cli(t, superEnv, "createsuperuser", "--email", "admin@example.com", "--no-input")
	replicaB := start(t, "authserver", env)
	rs := start(t, "resourceserver", map[string]string{
		"DATABASE_URL": b.RSDatabase, "REDIS_URL": b.RedisURL, "REDIS_PREFIX": b.RedisPrefix,
		"AUTH_SERVER_URL": a.URL, "INTROSPECTION_CLIENT_ID": "rs-id", "INTROSPECTION_CLIENT_SECRET": "rs-secret",
		"INTROSPECTION_CACHE_TTL": "10m",
	})

	ca, cb, crs := newClient(t, a.URL), newClient(t, replicaB.URL), newClient(t, rs.URL)
	signup(t, ca, "hammer@example.com", "correct horse battery")
	doomed := basicAuth("doomed-id", "doomed-secret")
	grants := []url.Values{
		{"grant_type": {"client_credentials"}},
		{"grant_type": {"password"}, "username": {"hammer@example.com"}, "password": {"correct horse battery"}},
	}
	// Some of the application's tokens are in the resource server's cache.
	var cached []string
	for _, g := range grants {
		r := cb.do("POST", "/o/token/", g, "Authorization", doomed)
		expectStatus(t, r, 200)
		at := r.JSON(t)["access_token"].(string)
		expectStatus(t, crs.do("GET", "/items/", nil, "Authorization", "Bearer "+at), 200)
		cached = append(cached, at)
	}

	// The admin, signed in on replica A.
	admin := newClient(t, a.URL)
	jar, _ := cookiejar.New(nil)
	admin.http.Jar = jar
	csrf := func(path string) string {
		t.Helper()
		m := csrfRE.FindSubmatch(admin.do("GET", path, nil).Body)
		if m == nil {
			t.Fatalf("no CSRF token on %s", path)
		}
		return string(m[1])
	}
	r := admin.do("POST", "/login/", url.Values{"csrfmiddlewaretoken": {csrf("/login/")}, "username": {"admin@example.com"}, "password": {"admin-Passw0rd-1"}})
	if r.Status != 302 && r.Status != 303 {
		t.Fatalf("admin login: %d %s", r.Status, r.Body)
	}
	m := adminApp.FindSubmatch(admin.do("GET", "/admin/applications/?q=doomed", nil).Body)
	if m == nil {
		t.Fatal("the application is not in the admin's list")
	}
	appPath := "/admin/applications/" + string(m[1]) + "/"
	token := csrf(appPath)

	issued, late := servicetest.Race(t, 8, 16, func(i int) (string, bool, error) {
		r, err := cb.try("POST", "/o/token/", grants[i%len(grants)], "Authorization", doomed)
		switch {
		case err != nil:
			return "", false, err
		case r.Status >= 500:
			return "", false, fmt.Errorf("%d %s", r.Status, r.Body)
		case r.Status != 200:
			return "", false, nil
		}
		m := accessRE.FindSubmatch(r.Body)
		if m == nil {
			return "", false, fmt.Errorf("no access_token in %s", r.Body)
		}
		return string(m[1]), true, nil
	}, func() {
		if r := admin.do("POST", appPath+"delete/", url.Values{"csrfmiddlewaretoken": {token}}); r.Status != 303 {
			t.Fatalf("delete: %d %s", r.Status, r.Body)
		}
	})
	if late > 0 {
		t.Errorf("replica B issued %d tokens for grants started after the delete returned", late)
	}
	rsAuth := basicAuth("rs-id", "rs-secret")
	for _, at := range append(issued, cached...) {
		for name, c := range map[string]*client{"A": ca, "B": cb} {
			if r := c.do("POST", "/o/introspect/", url.Values{"token": {at}}, "Authorization", rsAuth); string(r.Body) != `{"active":false}` {
				t.Fatalf("introspection on %s after the delete: %s", name, r.Body)
			}
		}
	}
	// The resource server hears the client's revocation event; the tokens
	// it never cached are refused by introspection at once.
	for _, at := range append(issued, cached...) {
		servicetest.Eventually(t, 10*time.Second, "the resource server to refuse a token of the deleted application", func() bool {
			return crs.do("GET", "/items/", nil, "Authorization", "Bearer "+at).Status == 401
		})
	}
	t.Logf("replica B issued %d tokens for the application during the race; none accepted afterwards", len(issued))
}
