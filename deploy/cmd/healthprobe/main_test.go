package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var gotPath string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath = r.URL.Path
		switch r.URL.Path {
		case "/healthz":
			w.WriteHeader(http.StatusOK)
		case "/readyz":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	// A port nothing listens on: take one, then free it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, closedPort, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()

	tests := []struct {
		name     string
		args     []string
		port     string
		want     int
		wantPath string
	}{
		{name: "healthz ok", port: port, want: 0, wantPath: "/healthz"},
		{name: "readyz 503", args: []string{"/readyz"}, port: port, want: 1, wantPath: "/readyz"},
		{name: "unknown path 404", args: []string{"/nope"}, port: port, want: 1, wantPath: "/nope"},
		{name: "connection refused", port: closedPort, want: 1},
		{name: "no PORT", port: "", want: 2},
		{name: "bad PORT", port: "http", want: 2},
		{name: "relative path", args: []string{"healthz"}, port: port, want: 2},
		{name: "too many args", args: []string{"/a", "/b"}, port: port, want: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gotPath = ""
			var stderr strings.Builder
			got := run(tc.args, func(k string) string {
				if k == "PORT" {
					return tc.port
				}
				return ""
			}, &stderr)
			if got != tc.want {
				t.Fatalf("exit code %d, want %d (stderr %q)", got, tc.want, stderr.String())
			}
			if tc.wantPath != "" && gotPath != tc.wantPath {
				t.Fatalf("server saw path %q, want %q", gotPath, tc.wantPath)
			}
			if got != 0 && stderr.Len() == 0 {
				t.Fatal("a failing probe said nothing on stderr")
			}
		})
	}
}
