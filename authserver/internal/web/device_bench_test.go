package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

// BenchmarkLoginDeviceCookie measures what a device cookie adds to a
// browser login (POST /login/ with the right password, in process, on
// PostgreSQL and Redis): each iteration logs in once without a device
// cookie and once with one, interleaved, so that both see the same load.
// It reports the median of each and their difference (p50-ns/added).
//
//	go test ./internal/web/ -run '^$' -bench LoginDeviceCookie -benchtime 2000x
func BenchmarkLoginDeviceCookie(b *testing.B) {
	rdb, prefix := testenv.Redis(b)
	s := newSite(b, testenv.PostgresURL(b), rdb, prefix)
	h := s.srv.Config.Handler
	serve := func(r *http.Request) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	get := serve(httptest.NewRequest(http.MethodGet, "/login/", nil))
	csrfCk := cookieFrom(get.Result(), "pc_csrf")
	token := csrfRE.FindStringSubmatch(get.Body.String())
	if csrfCk == "" || token == nil {
		b.Fatal("no pre-login CSRF cookie or token")
	}
	body := url.Values{"username": {s.user.Email}, "password": {pw}, "csrfmiddlewaretoken": {token[1]}}.Encode()
	login := func(device string) time.Duration {
		r := httptest.NewRequest(http.MethodPost, "/login/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(&http.Cookie{Name: "pc_csrf", Value: csrfCk})
		if device != "" {
			r.AddCookie(&http.Cookie{Name: "pc_device", Value: device})
		}
		start := time.Now()
		w := serve(r)
		d := time.Since(start)
		if w.Code != http.StatusSeeOther {
			b.Fatalf("login: %d", w.Code)
		}
		return d
	}
	first := httptest.NewRequest(http.MethodPost, "/login/", strings.NewReader(body))
	first.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	first.AddCookie(&http.Cookie{Name: "pc_csrf", Value: csrfCk})
	device := cookieFrom(serve(first).Result(), "pc_device")
	if device == "" {
		b.Fatal("no device cookie after a login")
	}
	var plain, withDevice []time.Duration
	for b.Loop() {
		plain = append(plain, login(""))
		withDevice = append(withDevice, login(device))
	}
	p50 := func(ds []time.Duration) float64 {
		slices.Sort(ds)
		return float64(ds[len(ds)/2].Nanoseconds())
	}
	pp, pd := p50(plain), p50(withDevice)
	b.ReportMetric(pp, "p50-ns/login")
	b.ReportMetric(pd, "p50-ns/device-login")
	b.ReportMetric(pd-pp, "p50-ns/added")
}

func cookieFrom(resp *http.Response, name string) string {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}
