package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// call makes one request without following redirects and returns the
// status, the headers and the decoded JSON body (nil when not JSON).
func call(t *testing.T, method, u string, form url.Values, header ...string) (int, http.Header, map[string]any) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, resp.Header, m
}

// callPage is a GET that returns the body as text, without following
// redirects.
func callPage(t *testing.T, u string) (int, http.Header, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestDiscoveryMatchesBehaviour reads the RFC 8414 and the OpenID Connect
// discovery documents of the real binary and checks every endpoint and
// every advertised value against what the server does.
func TestDiscoveryMatchesBehaviour(t *testing.T) {
	s := newStack(t, false)
	base := s.start("authserver", false)
	cb := "https://rp.example/cb"
	s.cli("createclient", "--name", "conf", "--client-id", "conf", "--client-secret", "conf-secret",
		"--grant-types", "authorization_code,password,client_credentials,refresh_token,"+deviceGrant, "--redirect-uris", cb,
		"--post-logout-redirect-uris", "https://rp.example/bye")
	s.cli("createclient", "--name", "pub", "--client-id", "pub", "--client-type", "public",
		"--grant-types", "authorization_code,"+deviceGrant, "--redirect-uris", cb)
	s.signup(base, "meta@example.com", "Str0ng-pass-w0rd")

	_, _, rfc := call(t, "GET", base+"/.well-known/oauth-authorization-server", nil)
	_, _, disc := call(t, "GET", base+"/.well-known/openid-configuration", nil)
	for _, p := range []string{"/o/.well-known/openid-configuration/", "/o/.well-known/openid-configuration"} {
		if st, _, d := call(t, "GET", base+p, nil); st != 200 || !reflect.DeepEqual(d, disc) {
			t.Fatalf("GET %s: %d, differs from the root document", p, st)
		}
	}
	// Every RFC 8414 member says the same in the OpenID document.
	for k, v := range rfc {
		if !reflect.DeepEqual(disc[k], v) {
			t.Errorf("%s: RFC 8414 %v, discovery %v", k, v, disc[k])
		}
	}
	if disc["issuer"] != base {
		t.Fatalf("issuer %v", disc["issuer"])
	}
	checked := map[string]bool{}
	ep := func(k string) string { checked[k] = true; return disc[k].(string) }
	val := func(k string) []string { checked[k] = true; return strs(disc[k]) }
	basic := func(id, secret string) []string {
		r, _ := http.NewRequest("GET", "/", nil)
		r.SetBasicAuth(id, secret)
		return []string{"Authorization", r.Header.Get("Authorization")}
	}

	// token endpoint: every advertised grant type is dispatched, nothing else.
	tokenURL := ep("token_endpoint")
	for _, g := range val("grant_types_supported") {
		st, _, b := call(t, "POST", tokenURL, url.Values{"grant_type": {g}}, basic("conf", "conf-secret")...)
		if b["error"] == "unsupported_grant_type" || st == 404 || st >= 500 {
			t.Errorf("advertised grant %s: %d %v", g, st, b)
		}
	}
	for _, g := range []string{"implicit", "urn:ietf:params:oauth:grant-type:jwt-bearer"} {
		if _, _, b := call(t, "POST", tokenURL, url.Values{"grant_type": {g}}, basic("conf", "conf-secret")...); b["error"] != "unsupported_grant_type" {
			t.Errorf("unadvertised grant %s: %v", g, b)
		}
	}
	// token endpoint auth methods: basic, post, none.
	for _, m := range val("token_endpoint_auth_methods_supported") {
		var st int
		var b map[string]any
		switch m {
		case "client_secret_basic":
			st, _, b = call(t, "POST", tokenURL, url.Values{"grant_type": {"client_credentials"}}, basic("conf", "conf-secret")...)
		case "client_secret_post":
			st, _, b = call(t, "POST", tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {"conf"}, "client_secret": {"conf-secret"}})
		case "none":
			st, _, b = call(t, "POST", tokenURL, url.Values{"grant_type": {"authorization_code"}, "client_id": {"pub"}, "code": {"x"}})
			if b["error"] == "invalid_grant" { // authenticated, then the code failed
				st = 200
			}
		default:
			t.Errorf("unexpected auth method %s", m)
		}
		if st != 200 {
			t.Errorf("token auth %s: %d %v", m, st, b)
		}
	}
	// scopes: each advertised scope can be granted.
	for _, sc := range val("scopes_supported") {
		st, _, b := call(t, "POST", tokenURL, url.Values{"grant_type": {"client_credentials"}, "scope": {sc}}, basic("conf", "conf-secret")...)
		if st != 200 || b["scope"] != sc {
			t.Errorf("scope %s: %d %v", sc, st, b)
		}
	}
	st, _, pw := call(t, "POST", tokenURL, url.Values{"grant_type": {"password"}, "username": {"meta@example.com"}, "password": {"Str0ng-pass-w0rd"},
		"scope": {"openid email introspection"}}, basic("conf", "conf-secret")...)
	if st != 200 || pw["id_token"] != nil {
		t.Fatalf("password grant with openid: %d %v (no sign-in, so no id token)", st, pw)
	}
	access := pw["access_token"].(string)

	// introspection and revocation endpoints with each auth method.
	for _, k := range []string{"introspection", "revocation"} {
		u := ep(k + "_endpoint")
		for _, m := range val(k + "_endpoint_auth_methods_supported") {
			form := url.Values{"token": {"pcat_unknown"}}
			var hdr []string
			switch m {
			case "client_secret_basic":
				hdr = basic("conf", "conf-secret")
			case "client_secret_post":
				form.Set("client_id", "conf")
				form.Set("client_secret", "conf-secret")
			case "bearer":
				hdr = []string{"Authorization", "Bearer " + access}
			case "none":
				form.Set("client_id", "pub")
			}
			if st, _, b := call(t, "POST", u, form, hdr...); st != 200 {
				t.Errorf("%s with %s: %d %v", k, m, st, b)
			}
		}
	}

	// authorization endpoint: response types, PKCE methods, prompt values,
	// no request objects; errors go back in the query (response_mode).
	authURL := ep("authorization_endpoint")
	// Before sign-in, a request error of an untrusted client is shown on a
	// page (no open redirect); its code is read from the page then.
	pageError := regexp.MustCompile(`id="message">([a-z_]+): `)
	authorize := func(extra url.Values) (int, url.Values) {
		q := url.Values{"client_id": {"pub"}, "redirect_uri": {cb}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s1"},
			"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}
		for k, v := range extra {
			q[k] = v
		}
		st, h, body := callPage(t, authURL+"?"+q.Encode())
		if h.Get("Location") == "" {
			if m := pageError.FindStringSubmatch(body); m != nil && st == http.StatusBadRequest {
				return st, url.Values{"error": {m[1]}, "state": {"s1"}}
			}
			return st, nil
		}
		loc, _ := url.Parse(h.Get("Location"))
		if !strings.HasPrefix(loc.String(), cb) {
			return st, url.Values{"location": {loc.Path}}
		}
		return st, loc.Query()
	}
	if rt := val("response_types_supported"); !reflect.DeepEqual(rt, []string{"code"}) {
		t.Fatalf("response_types_supported %v", rt)
	}
	for _, rt := range []string{"token", "id_token", "code id_token", "code token"} {
		if _, q := authorize(url.Values{"response_type": {rt}}); q.Get("error") != "unsupported_response_type" || q.Get("state") != "s1" {
			t.Errorf("response_type=%s: %v", rt, q)
		}
	}
	if m := val("code_challenge_methods_supported"); !reflect.DeepEqual(m, []string{"S256"}) {
		t.Fatalf("code_challenge_methods_supported %v", m)
	}
	if _, q := authorize(url.Values{"code_challenge_method": {"plain"}}); q.Get("error") != "invalid_request" {
		t.Errorf("plain PKCE: %v", q)
	}
	if m := val("response_modes_supported"); !reflect.DeepEqual(m, []string{"query"}) {
		t.Fatalf("response_modes_supported %v", m)
	}
	for _, p := range val("prompt_values_supported") {
		st, q := authorize(url.Values{"prompt": {p}})
		switch p {
		case "none":
			if q.Get("error") != "login_required" {
				t.Errorf("prompt=none without a session: %v", q)
			}
		default:
			if st != http.StatusFound || q.Get("location") != "/login/" {
				t.Errorf("prompt=%s without a session: %d %v, want the login page", p, st, q)
			}
		}
	}
	for _, bad := range []url.Values{{"prompt": {"select_account"}}, {"prompt": {"none login"}}, {"prompt": {"consent none"}}, {"prompt": {"none none login"}}, {"max_age": {"-1"}}, {"id_token_hint": {"garbage"}}} {
		if _, q := authorize(bad); q.Get("error") != "invalid_request" {
			t.Errorf("%v: %v, want invalid_request", bad, q)
		}
	}
	checked["request_parameter_supported"], checked["request_uri_parameter_supported"], checked["claims_parameter_supported"] = true, true, true
	if disc["request_parameter_supported"] != false || disc["request_uri_parameter_supported"] != false || disc["claims_parameter_supported"] != false {
		t.Fatalf("request/claims parameters advertised: %v", disc)
	}
	if _, q := authorize(url.Values{"request": {"eyJ9.e30."}}); q.Get("error") != "request_not_supported" {
		t.Errorf("request object: %v", q)
	}
	if _, q := authorize(url.Values{"request_uri": {"https://rp.example/r"}}); q.Get("error") != "request_uri_not_supported" {
		t.Errorf("request_uri: %v", q)
	}

	// JWKS: a kid on every key, each advertised algorithm present, cacheable.
	st, h, jwks := call(t, "GET", ep("jwks_uri"), nil)
	if st != 200 || !strings.Contains(h.Get("Cache-Control"), "max-age=") {
		t.Fatalf("jwks: %d %v", st, h)
	}
	var algs []string
	for _, k := range jwks["keys"].([]any) {
		m := k.(map[string]any)
		if m["kid"] == "" || m["kid"] == nil || m["use"] != "sig" || m["d"] != nil || m["p"] != nil {
			t.Fatalf("jwks key %v: want a public key with a kid", m)
		}
		algs = append(algs, m["alg"].(string))
	}
	for _, a := range val("id_token_signing_alg_values_supported") {
		if !slices.Contains(algs, a) {
			t.Errorf("advertised %s, no such key in JWKS %v", a, algs)
		}
	}

	// userinfo: GET and POST; RFC 6750 errors; sub as in introspection
	// (subject_types_supported: public, the same sub for every client).
	ui := ep("userinfo_endpoint")
	var sub string
	for _, m := range []string{"GET", "POST"} {
		st, _, b := call(t, m, ui, nil, "Authorization", "Bearer "+access)
		if st != 200 || b["sub"] == nil || b["email"] != "meta@example.com" {
			t.Fatalf("userinfo %s: %d %v", m, st, b)
		}
		sub = b["sub"].(string)
	}
	_, _, in := call(t, "POST", ep("introspection_endpoint"), url.Values{"token": {access}}, basic("conf", "conf-secret")...)
	if in["sub"] != sub || !reflect.DeepEqual(val("subject_types_supported"), []string{"public"}) {
		t.Fatalf("introspection sub %v, userinfo sub %s", in["sub"], sub)
	}
	_, _, noOpenID := call(t, "POST", tokenURL, url.Values{"grant_type": {"password"}, "username": {"meta@example.com"}, "password": {"Str0ng-pass-w0rd"},
		"scope": {"read"}}, basic("conf", "conf-secret")...)
	for _, tt := range []struct {
		name, authz string
		status      int
		challenge   string
	}{
		{"no token", "", 401, `Bearer realm="portcullis"`},
		{"unknown token", "Bearer pcat_nope", 401, `error="invalid_token"`},
		{"malformed header", "Basic Zm9vOmJhcg==", 401, `error="invalid_token"`},
		{"no openid scope", "Bearer " + noOpenID["access_token"].(string), 403, `error="insufficient_scope"`},
	} {
		var hdr []string
		if tt.authz != "" {
			hdr = []string{"Authorization", tt.authz}
		}
		st, h, _ := call(t, "GET", ui, nil, hdr...)
		if st != tt.status || !strings.Contains(h.Get("WWW-Authenticate"), tt.challenge) {
			t.Errorf("userinfo, %s: %d %q", tt.name, st, h.Get("WWW-Authenticate"))
		}
	}
	checked["claims_supported"] = true // each claim is checked on real id tokens in the browser test

	// end_session_endpoint: a page; an unregistered post-logout URI is
	// never followed.
	es := ep("end_session_endpoint")
	if st, h, _ := call(t, "GET", es, nil); st != 200 || h.Get("Location") != "" {
		t.Fatalf("end session: %d", st)
	}
	if st, h, _ := call(t, "GET", es+"?"+url.Values{"client_id": {"conf"}, "post_logout_redirect_uri": {"https://evil.example/"}}.Encode(), nil); st != 400 || h.Get("Location") != "" {
		t.Fatalf("unregistered post_logout_redirect_uri: %d %s", st, h.Get("Location"))
	}
	if st, h, _ := call(t, "GET", es+"?"+url.Values{"client_id": {"conf"}, "post_logout_redirect_uri": {"https://rp.example/bye"}, "state": {"x"}}.Encode(), nil); st != 303 || h.Get("Location") != "https://rp.example/bye?state=x" {
		t.Fatalf("registered post_logout_redirect_uri without a session: %d %s", st, h.Get("Location"))
	}

	// device authorization endpoint.
	st, _, da := call(t, "POST", ep("device_authorization_endpoint"), url.Values{"client_id": {"pub"}, "scope": {"openid"}})
	if st != 200 || da["device_code"] == nil || da["user_code"] == nil || da["verification_uri"] != base+"/o/device/" ||
		da["verification_uri_complete"] == nil || da["expires_in"] != float64(600) || da["interval"] != float64(5) {
		t.Fatalf("device authorization: %d %v", st, da)
	}

	// issuer was checked above; service_documentation is optional and absent.
	checked["issuer"] = true
	for k := range disc {
		if !checked[k] {
			t.Errorf("advertised %q is not checked against behaviour", k)
		}
	}
}
