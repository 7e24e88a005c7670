package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/portcullis-oauth/portcullis/authserver/internal/device"
)

const deviceGrant = "urn:ietf:params:oauth:grant-type:device_code"

// rawPoll is one device access token request; it returns the status, the
// error code and the access token.
func rawPoll(t *testing.T, base, clientID, deviceCode string) (int, string, string) {
	t.Helper()
	resp, err := http.PostForm(base+"/o/token/", url.Values{"grant_type": {deviceGrant}, "device_code": {deviceCode}, "client_id": {clientID}})
	if err != nil {
		t.Error(err)
		return 0, "", ""
	}
	defer resp.Body.Close()
	var v struct {
		Error       string `json:"error"`
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v.Error, v.AccessToken
}

// approveDevice opens the verification URI in Chromium (signing in when
// asked), continues with the prefilled code and answers the consent page.
func (s *oidcStack) approveDevice(uri, email, password, button string) string {
	s.t.Helper()
	s.do("open "+uri, chromedp.Navigate(uri))
	var page string
	s.do("verification page", chromedp.WaitVisible("#id_username, #continue"),
		capture(chromedp.Evaluate[string](`document.querySelector("#continue") ? "code" : "login"`), &page))
	if page == "login" {
		s.do("sign in", chromedp.SendKeys("#id_username", email), chromedp.SendKeys("#id_password", password),
			chromedp.Click("#login"), chromedp.WaitVisible("#continue"))
	}
	var shown, msg string
	s.do("continue", chromedp.Click("#continue"), chromedp.WaitVisible("#"+button), capture(chromedp.Text("#user_code"), &shown),
		chromedp.Click("#"+button), chromedp.WaitVisible("#message"), capture(chromedp.Text("#message"), &msg))
	return shown + "|" + msg
}

// TestDeviceFlow is RFC 8628 end to end: x/oauth2's DeviceAuth and
// DeviceAccessToken against the real binary, the user approving in
// Chromium.
func TestDeviceFlow(t *testing.T) {
	s := newOIDCStack(t)
	base := s.start("authserver", false, "DEVICE_POLL_INTERVAL=1s", "LOGIN_THROTTLE_LIMIT=5")
	short := s.start("authserver-short", false, "DEVICE_POLL_INTERVAL=1s", "DEVICE_CODE_LIFETIME=10s")
	s.cli("createclient", "--name", "tv", "--client-id", "tv", "--client-type", "public", "--grant-types", deviceGrant)
	s.cli("createclient", "--name", "tv2", "--client-id", "tv2", "--client-type", "public", "--grant-types", deviceGrant)
	s.cli("createclient", "--name", "web", "--client-id", "web", "--client-type", "public", "--grant-types", "authorization_code",
		"--redirect-uris", s.cb+"/callback")
	const email, password = "device@example.com", "Str0ng-pass-w0rd"
	s.signup(base, email, password)
	ctx := context.Background()
	conf := &oauth2.Config{ClientID: "tv", Scopes: []string{"openid", "email", "read"},
		Endpoint: oauth2.Endpoint{DeviceAuthURL: base + "/o/device_authorization/", TokenURL: base + "/o/token/", AuthStyle: oauth2.AuthStyleInParams}}

	// A request on the short-lived server, to expire while the rest runs.
	expiring, err := (&oauth2.Config{ClientID: "tv", Scopes: []string{"read"}, Endpoint: oauth2.Endpoint{
		DeviceAuthURL: short + "/o/device_authorization/", TokenURL: short + "/o/token/", AuthStyle: oauth2.AuthStyleInParams}}).DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// A client not registered for the grant is refused.
	resp, err := http.PostForm(base+"/o/device_authorization/", url.Values{"client_id": {"web"}})
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("device authorization by a code-flow client: %v %v", resp, err)
	}
	resp.Body.Close()

	// 1. The device gets its tokens while the user approves in Chromium.
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if da.Interval != 1 || da.VerificationURI != base+"/o/device/" || !strings.Contains(da.VerificationURIComplete, url.QueryEscape(da.UserCode)) ||
		len(da.UserCode) != 9 || da.UserCode[4] != '-' || da.Expiry.IsZero() {
		t.Fatalf("device authorization response %+v", da)
	}
	type result struct {
		tok *oauth2.Token
		err error
	}
	got := make(chan result, 1)
	go func() {
		tok, err := conf.DeviceAccessToken(ctx, da)
		got <- result{tok, err}
	}()
	if r := s.approveDevice(da.VerificationURIComplete, email, password, "allow"); !strings.HasPrefix(r, da.UserCode+"|") || !strings.Contains(r, "connected") {
		t.Fatalf("approval page: %q", r)
	}
	var res result
	select {
	case res = <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("DeviceAccessToken did not return")
	}
	if res.err != nil || res.tok.AccessToken == "" || res.tok.RefreshToken == "" {
		t.Fatalf("DeviceAccessToken: %v", res.err)
	}
	// With openid an id token comes too, verified through discovery.
	p, err := oidc.NewProvider(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := res.tok.Extra("id_token").(string)
	idt, err := p.Verifier(&oidc.Config{ClientID: "tv"}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("device id token: %v", err)
	}
	if sub := claimsOf(t, idt)["email"]; sub != email {
		t.Fatalf("device id token email %v", sub)
	}
	// The used device code is refused from now on.
	if st, code, _ := rawPoll(t, base, "tv", da.DeviceCode); st != http.StatusBadRequest || code != "invalid_grant" {
		t.Fatalf("replayed device code: %d %s", st, code)
	}

	// 2. Raw polling: pending, slow_down when too fast, another client
	// refused; after approval exactly one of several concurrent pollers wins.
	db, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st, code, _ := rawPoll(t, base, "tv", db.DeviceCode); st != http.StatusBadRequest || code != "authorization_pending" {
		t.Fatalf("first poll: %d %s", st, code)
	}
	if st, code, _ := rawPoll(t, base, "tv", db.DeviceCode); st != http.StatusBadRequest || code != "slow_down" {
		t.Fatalf("a poll right after the last: %d %s, want slow_down", st, code)
	}
	lastPoll := time.Now()
	if st, code, _ := rawPoll(t, base, "tv2", db.DeviceCode); st != http.StatusBadRequest || code != "invalid_grant" {
		t.Fatalf("another client's poll: %d %s, want invalid_grant", st, code)
	}
	if r := s.approveDevice(db.VerificationURIComplete, email, password, "allow"); !strings.Contains(r, "connected") {
		t.Fatalf("second approval: %q", r)
	}
	// A well-behaved device waits the interval, grown by 5 s at the
	// slow_down (RFC 8628 §3.5), since its last poll; then several pollers
	// race and exactly one gets the tokens.
	time.Sleep(time.Until(lastPoll.Add(time.Duration(db.Interval)*time.Second + device.SlowDownStep + 100*time.Millisecond)))
	var mu sync.Mutex
	var wins, codes []string
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			st, code, at := rawPoll(t, base, "tv", db.DeviceCode)
			mu.Lock()
			defer mu.Unlock()
			if st == http.StatusOK {
				wins = append(wins, at)
			} else {
				codes = append(codes, code)
			}
		})
	}
	wg.Wait()
	for _, c := range codes {
		if c != "slow_down" && c != "invalid_grant" {
			t.Fatalf("a losing poller got %q", c)
		}
	}
	if len(wins) != 1 {
		t.Fatalf("%d concurrent pollers got tokens (losers: %v), want exactly 1", len(wins), codes)
	}

	// 3. Denial: DeviceAccessToken ends with access_denied.
	dc, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		tok, err := conf.DeviceAccessToken(ctx, dc)
		got <- result{tok, err}
	}()
	if r := s.approveDevice(dc.VerificationURIComplete, email, password, "deny"); !strings.Contains(r, "denied") {
		t.Fatalf("denial page: %q", r)
	}
	res = <-got
	var re *oauth2.RetrieveError
	if !errors.As(res.err, &re) || re.ErrorCode != "access_denied" {
		t.Fatalf("after denial: %v, want access_denied", res.err)
	}

	// 4. Expired: the short-lived request, never approved.
	eventually(t, 30*time.Second, "the device code expires", func() error {
		if st, code, _ := rawPoll(t, short, "tv", expiring.DeviceCode); code != "expired_token" {
			return fmt.Errorf("%d %s", st, code)
		}
		return nil
	})

	// 5. Guessing user codes is throttled (LOGIN_THROTTLE_LIMIT=5): the
	// sixth wrong code in a session gets the throttle page.
	var msg string
	for i := range 6 {
		s.do("guess", chromedp.Navigate(base+"/o/device/"), chromedp.WaitVisible("#id_user_code"),
			chromedp.SendKeys("#id_user_code", "BCDF-GHJK"), chromedp.Click("#continue"), chromedp.WaitVisible("#error"),
			capture(chromedp.Text("#error"), &msg))
		if i < 5 && !strings.Contains(msg, "not valid") {
			t.Fatalf("guess %d: %q", i+1, msg)
		}
	}
	if !strings.Contains(msg, "Too many attempts") {
		t.Fatalf("sixth guess: %q, want the throttle", msg)
	}
}
