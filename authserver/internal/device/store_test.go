package device_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/device"
	"github.com/portcullis-oauth/portcullis/authserver/internal/testenv"
)

func newStore(t *testing.T) (*device.Store, *testenv.Clock) {
	t.Helper()
	rdb, prefix := testenv.Redis(t)
	s := device.NewStore(testenv.Compat(t, rdb), prefix, 10*time.Minute, 5*time.Second)
	clk := testenv.NewClock(time.Now())
	s.SetClock(clk.Now)
	return s, clk
}

func TestNormalizeUserCode(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"BCDF-GHJK", "BCDFGHJK", true},
		{"bcdf ghjk", "BCDFGHJK", true},
		{"BCDFGHJK", "BCDFGHJK", true},
		{"BCDF-GHJ", "", false},       // short
		{"BCDF-GHJKL", "", false},     // long
		{"ABCD-GHJK", "", false},      // a vowel
		{"BCD0-GHJK", "", false},      // a digit
		{"BCDF-GHJ\u212a", "", false}, // Kelvin sign
		{"", "", false},
	} {
		got, ok := device.NormalizeUserCode(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalizeUserCode(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestStartStoresOnlyHashes(t *testing.T) {
	rdb, prefix := testenv.Redis(t)
	s := device.NewStore(testenv.Compat(t, rdb), prefix, time.Minute, 5*time.Second)
	ctx := testenv.Context(t)
	st, err := s.Start(ctx, device.Request{ClientID: "tv", Scope: "read"})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.UserCode) != 9 || st.UserCode[4] != '-' {
		t.Fatalf("user code %q, want XXXX-XXXX", st.UserCode)
	}
	for _, r := range strings.ReplaceAll(st.UserCode, "-", "") {
		if !strings.ContainsRune(device.UserCodeAlphabet, r) {
			t.Fatalf("user code %q has %q", st.UserCode, r)
		}
	}
	if !strings.HasPrefix(st.DeviceCode, "pcdc_") || len(st.DeviceCode) < 40 || st.ExpiresIn != time.Minute || st.Interval != 5*time.Second {
		t.Fatalf("started %+v", st)
	}
	keys, err := testenv.Keys(ctx, rdb, prefix+"*")
	if err != nil || len(keys) != 2 {
		t.Fatalf("keys %v %v", keys, err)
	}
	norm, _ := device.NormalizeUserCode(st.UserCode)
	for _, k := range keys {
		if strings.Contains(k, st.DeviceCode) || strings.Contains(k, norm) {
			t.Fatalf("a code in the clear in key %s", k)
		}
		if ttl := rdb.PTTL(ctx, k).Val(); ttl <= 0 || ttl > 2*time.Minute {
			t.Fatalf("key %s TTL %v", k, ttl)
		}
		if v, _ := rdb.Get(ctx, k).Result(); strings.Contains(v, st.DeviceCode) {
			t.Fatalf("device code stored in the clear")
		}
	}
}

func TestPollLifecycle(t *testing.T) {
	s, clk := newStore(t)
	ctx := testenv.Context(t)
	st, err := s.Start(ctx, device.Request{ClientID: "tv", Scope: "openid read"})
	if err != nil {
		t.Fatal(err)
	}
	code, _ := device.NormalizeUserCode(st.UserCode)
	if _, err := s.Poll(ctx, st.DeviceCode, "tv"); !errors.Is(err, device.ErrPending) {
		t.Fatalf("first poll: %v, want pending", err)
	}
	// Too soon: slow_down, and the interval grows by 5 s (to 10 s).
	clk.Add(time.Second)
	if _, err := s.Poll(ctx, st.DeviceCode, "tv"); !errors.Is(err, device.ErrSlowDown) {
		t.Fatalf("fast poll: %v, want slow_down", err)
	}
	clk.Add(7 * time.Second) // past the old interval, inside the new one
	if _, err := s.Poll(ctx, st.DeviceCode, "tv"); !errors.Is(err, device.ErrSlowDown) {
		t.Fatalf("poll 7s later with a 10s interval: %v, want slow_down", err)
	}
	clk.Add(16 * time.Second)
	if _, err := s.Poll(ctx, st.DeviceCode, "tv"); !errors.Is(err, device.ErrPending) {
		t.Fatalf("poll after the grown interval: %v, want pending", err)
	}
	// Another client, an unknown code, a malformed one: invalid.
	for _, tt := range []struct{ code, client string }{{st.DeviceCode, "other"}, {"pcdc_nope", "tv"}, {"x", "tv"}} {
		if _, err := s.Poll(ctx, tt.code, tt.client); !errors.Is(err, device.ErrInvalid) {
			t.Fatalf("poll %q by %q: %v, want invalid", tt.code, tt.client, err)
		}
	}
	req, err := s.Lookup(ctx, code)
	if err != nil || req.ClientID != "tv" || req.Scope != "openid read" {
		t.Fatalf("Lookup = %+v, %v", req, err)
	}
	at := time.Unix(1700000000, 0).UTC()
	if err := s.Decide(ctx, code, true, device.Approval{UserID: 9, Email: "u@example.com", AuthTime: at}); err != nil {
		t.Fatal(err)
	}
	if err := s.Decide(ctx, code, false, device.Approval{}); !errors.Is(err, device.ErrNotFound) {
		t.Fatalf("second decision: %v, want ErrNotFound (the user code is spent)", err)
	}
	if _, err := s.Lookup(ctx, code); !errors.Is(err, device.ErrNotFound) {
		t.Fatalf("Lookup after the decision: %v", err)
	}
	// Exactly one of many concurrent polls gets the grant.
	clk.Add(time.Minute)
	var wg sync.WaitGroup
	results := make(chan error, 20)
	grants := make(chan device.Granted, 20)
	for range 20 {
		wg.Go(func() {
			g, err := s.Poll(ctx, st.DeviceCode, "tv")
			if err == nil {
				grants <- g
			}
			results <- err
		})
	}
	wg.Wait()
	close(results)
	close(grants)
	wins := 0
	for err := range results {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, device.ErrInvalid), errors.Is(err, device.ErrSlowDown):
		default:
			t.Fatalf("concurrent poll: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d polls won, want exactly 1", wins)
	}
	g := <-grants
	if g.UserID != 9 || g.Email != "u@example.com" || !g.AuthTime.Equal(at) || g.Scope != "openid read" || g.ClientID != "tv" {
		t.Fatalf("granted %+v", g)
	}
	clk.Add(time.Minute)
	if _, err := s.Poll(ctx, st.DeviceCode, "tv"); !errors.Is(err, device.ErrInvalid) {
		t.Fatalf("replayed device code: %v, want invalid", err)
	}
}

func TestDenyAndExpiry(t *testing.T) {
	s, clk := newStore(t)
	ctx := testenv.Context(t)
	denied, _ := s.Start(ctx, device.Request{ClientID: "tv", Scope: "read"})
	code, _ := device.NormalizeUserCode(denied.UserCode)
	if err := s.Decide(ctx, code, false, device.Approval{UserID: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Poll(ctx, denied.DeviceCode, "tv"); !errors.Is(err, device.ErrDenied) {
		t.Fatalf("denied: %v", err)
	}
	clk.Add(time.Minute)
	if _, err := s.Poll(ctx, denied.DeviceCode, "tv"); !errors.Is(err, device.ErrInvalid) {
		t.Fatalf("denied, polled again: %v, want invalid", err)
	}

	late, _ := s.Start(ctx, device.Request{ClientID: "tv", Scope: "read"})
	lcode, _ := device.NormalizeUserCode(late.UserCode)
	clk.Add(10*time.Minute + time.Millisecond)
	if _, err := s.Lookup(ctx, lcode); !errors.Is(err, device.ErrNotFound) {
		t.Fatalf("expired Lookup: %v", err)
	}
	if err := s.Decide(ctx, lcode, true, device.Approval{UserID: 1}); !errors.Is(err, device.ErrNotFound) {
		t.Fatalf("expired Decide: %v", err)
	}
	if _, err := s.Poll(ctx, late.DeviceCode, "tv"); !errors.Is(err, device.ErrExpired) {
		t.Fatalf("expired poll: %v, want expired", err)
	}
}
