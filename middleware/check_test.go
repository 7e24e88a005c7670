package middleware

import (
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/shared/servicetest"
)

// records returns the JSON log records written to buf so far.
func records(t *testing.T, buf *servicetest.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name         string
		opt          Option
		fail         int
		wantRejected bool
		wantErr      bool
	}{
		{"right credentials", WithClientCredentials("rs-id", "rs-secret"), 0, false, false},
		{"wrong secret", WithClientCredentials("rs-id", "wrong"), 0, true, true},
		{"no credentials", WithTimeout(time.Second), 0, true, true},
		{"bearer instead of credentials", WithBearerToken("not-it"), 0, true, true},
		{"403 (DOT's answer)", WithClientCredentials("rs-id", "rs-secret"), 403, true, true},
		{"auth server failing", WithClientCredentials("rs-id", "rs-secret"), 503, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, tc.opt, WithLogger(slog.New(slog.DiscardHandler)))
			r.fake.RequireClientCredentials("rs-id", "rs-secret")
			r.fake.Fail(tc.fail, "")
			err := r.v.Check(bg())
			if (err != nil) != tc.wantErr || errors.Is(err, ErrCredentialsRejected) != tc.wantRejected {
				t.Fatalf("Check = %v; want error %v, rejected %v", err, tc.wantErr, tc.wantRejected)
			}
			if err != nil && !errors.Is(err, ErrUnavailable) {
				t.Errorf("%v does not match ErrUnavailable", err)
			}
			if r.fake.Calls() != 1 {
				t.Errorf("Check made %d calls, want 1", r.fake.Calls())
			}
			if f := r.fake.LastRequest().Form; f.Get("token") == "" || f.Get("token_type_hint") != "access_token" {
				t.Errorf("Check sent %v", f)
			}
		})
	}
}

// TestCredentialsRejectedIsLogged: with a wrong secret every request got a
// 503 and nothing was logged (issue 12, item 9). Now the rejection is one
// ERROR line a minute, counting the ones left out, and never a token.
func TestCredentialsRejectedIsLogged(t *testing.T) {
	var buf servicetest.Buffer
	r := newRig(t, WithClientCredentials("rs-id", "wrong"), WithLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
	r.fake.RequireClientCredentials("rs-id", "rs-secret")
	h := r.v.Handler(okHandler)
	for i := range 5 {
		tok := "secret-token-" + string(rune('a'+i))
		if w := do(h, "Bearer "+tok); w.Code != 503 {
			t.Fatalf("request %d: %d, want 503", i, w.Code)
		}
		_, err := r.v.Verify(bg(), tok)
		if !errors.Is(err, ErrCredentialsRejected) || !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Verify: %v", err)
		}
	}
	recs := records(t, &buf)
	if len(recs) != 1 || recs[0]["level"] != "ERROR" || !strings.Contains(recs[0]["msg"].(string), "credentials") {
		t.Fatalf("want one ERROR about credentials, got %v", recs)
	}
	r.clk.Advance(credentialsLogEvery)
	if err := r.v.Check(bg()); !errors.Is(err, ErrCredentialsRejected) {
		t.Fatalf("Check: %v", err)
	}
	recs = records(t, &buf)
	if len(recs) != 2 || recs[1]["suppressed"] != float64(r.fake.Calls()-2) {
		t.Fatalf("want a second line counting %d suppressed, got %v", r.fake.Calls()-2, recs)
	}
	if log := buf.String(); strings.Contains(log, "secret-token") || strings.Contains(log, "wrong") {
		t.Errorf("a token or the secret reached the log") // the log itself is not printed: it holds them
	}
}

// TestOtherFailuresAreRateLimited: an outage costs one WARN per interval,
// not one per request, now that the default logger writes.
func TestOtherFailuresAreRateLimited(t *testing.T) {
	var buf servicetest.Buffer
	r := newRig(t, WithLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
	r.fake.Fail(502, "")
	for i := range 10 {
		if _, err := r.v.Verify(bg(), "t"+string(rune('a'+i))); !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrCredentialsRejected) {
			t.Fatalf("Verify: %v", err)
		}
	}
	if recs := records(t, &buf); len(recs) != 1 || recs[0]["level"] != "WARN" {
		t.Fatalf("want one WARN, got %v", recs)
	}
}

// TestDefaultLoggerIsNotSilent: without WithLogger, the rejection reaches
// slog.Default() (it used to be discarded).
func TestDefaultLoggerIsNotSilent(t *testing.T) {
	var buf servicetest.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	r := newRig(t, WithClientCredentials("rs-id", "wrong"))
	r.fake.RequireClientCredentials("rs-id", "rs-secret")
	if err := r.v.Check(bg()); !errors.Is(err, ErrCredentialsRejected) {
		t.Fatalf("Check: %v", err)
	}
	if recs := records(t, &buf); len(recs) != 1 || recs[0]["level"] != "ERROR" {
		t.Fatalf("default logger got %v", recs)
	}
}

func TestLogLimiter(t *testing.T) {
	l := logLimiter{every: time.Second}
	t0 := time.Unix(1000, 0)
	if ok, n := l.allow(t0); !ok || n != 0 {
		t.Fatalf("first: %v %d", ok, n)
	}
	for range 3 {
		if ok, _ := l.allow(t0.Add(500 * time.Millisecond)); ok {
			t.Fatal("allowed inside the interval")
		}
	}
	if ok, n := l.allow(t0.Add(time.Second)); !ok || n != 3 {
		t.Fatalf("after the interval: %v %d, want true 3", ok, n)
	}
}
