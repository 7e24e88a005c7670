package introspecttest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/portcullis-oauth/portcullis/shared/wire"
)

// Path is where the fake answers, the same path as the auth server's.
const Path = "/o/introspect/"

// Server is a fake introspection endpoint on an httptest.Server. All its
// methods are safe for concurrent use.
type Server struct {
	// URL is the full introspection URL, to pass to middleware.New.
	URL string

	srv *httptest.Server

	mu         sync.Mutex
	answers    map[string][]byte
	calls      int
	callsFor   map[string]int
	clientID   string
	secret     string
	needCreds  bool
	bearer     string
	failStatus int
	retryAfter string
	delay      time.Duration
	last       Request
}

// Request is what the fake saw of a call.
type Request struct {
	Form   url.Values
	Header http.Header
}

// NewServer starts a fake. Close it when done (t.Cleanup(s.Close)).
// Unknown tokens are answered {"active": false}.
func NewServer() *Server {
	s := &Server{answers: map[string][]byte{}, callsFor: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc(Path, s.serve)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL + Path
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// CloseClientConnections drops open connections, to simulate a network fault.
func (s *Server) CloseClientConnections() { s.srv.CloseClientConnections() }

// Register makes token introspect as ans (Active is forced to true).
func (s *Server) Register(token string, ans wire.Introspection) {
	ans.Active = true
	b, err := json.Marshal(ans)
	if err != nil {
		panic(err) // a struct of strings and ints always marshals
	}
	s.RegisterRaw(token, string(b))
}

// RegisterRaw makes token introspect as the exact body raw, for answers
// that wire.Introspection cannot express (aud arrays, float exp, bad types).
func (s *Server) RegisterRaw(token, raw string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[token] = []byte(raw)
}

// Revoke makes token introspect as {"active": false} from now on.
func (s *Server) Revoke(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.answers, token)
}

// RequireClientCredentials makes the fake answer 401 unless the caller
// sends these credentials by HTTP Basic (form-url-encoded per RFC 6749
// §2.3.1) or as client_id/client_secret form fields.
func (s *Server) RequireClientCredentials(id, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clientID, s.secret, s.needCreds = id, secret, true
}

// RequireBearer makes the fake answer 401 unless the caller sends
// "Authorization: Bearer tok".
func (s *Server) RequireBearer(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bearer = tok
}

// Fail makes every call answer status (with a JSON error body) until
// Fail(0). retryAfter, if not empty, is sent as the Retry-After header.
func (s *Server) Fail(status int, retryAfter string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failStatus, s.retryAfter = status, retryAfter
}

// SetDelay makes every answer wait d (or until the caller gives up).
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Calls returns the number of requests the fake has received.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// CallsFor returns the number of requests that asked about token.
func (s *Server) CallsFor(token string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.callsFor[token]
}

// LastRequest returns the form and headers of the latest request.
func (s *Server) LastRequest() Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Request{Form: s.last.Form, Header: s.last.Header.Clone()}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	tok := r.PostForm.Get("token")
	if tok == "" && r.Method == http.MethodGet {
		tok = r.Form.Get("token")
	}
	s.mu.Lock()
	s.calls++
	s.callsFor[tok]++
	s.last = Request{Form: r.PostForm, Header: r.Header.Clone()}
	delay, fail, ra := s.delay, s.failStatus, s.retryAfter
	authorized := s.authorized(r)
	body, ok := s.answers[tok]
	s.mu.Unlock()

	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method != http.MethodPost && r.Method != http.MethodGet:
		w.Header().Set("Allow", "POST, OPTIONS")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	case fail != 0:
		if ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		w.WriteHeader(fail)
		_, _ = w.Write([]byte(`{"error": "server_error"}`))
		return
	case !authorized:
		w.Header().Set("WWW-Authenticate", `Basic realm="introspection"`)
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error": "invalid_client"}`))
		return
	case !ok:
		body = []byte(`{"active": false}`)
	}
	_, _ = w.Write(body)
}

// authorized runs under s.mu.
func (s *Server) authorized(r *http.Request) bool {
	if s.bearer != "" {
		return r.Header.Get("Authorization") == "Bearer "+s.bearer
	}
	if !s.needCreds {
		return true
	}
	id, secret, ok := basic(r.Header.Get("Authorization"))
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	return id == s.clientID && secret == s.secret
}

// basic decodes HTTP Basic credentials, then form-url-decodes both halves.
func basic(h string) (id, secret string, ok bool) {
	enc, found := strings.CutPrefix(h, "Basic ")
	if !found {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", "", false
	}
	rid, rsecret, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", false
	}
	if id, err = url.QueryUnescape(rid); err != nil {
		return "", "", false
	}
	if secret, err = url.QueryUnescape(rsecret); err != nil {
		return "", "", false
	}
	return id, secret, true
}
