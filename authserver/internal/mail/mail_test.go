package mail_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"strings"
	"testing"
	"time"

	"github.com/portcullis-oauth/portcullis/authserver/internal/mail"
	"github.com/portcullis-oauth/portcullis/authserver/internal/mail/mailtest"
)

func sender(t *testing.T, rawURL string, srv *mailtest.Server) mail.Sender {
	t.Helper()
	s, err := mail.New(rawURL, "Portcullis <noreply@example.com>", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if srv != nil {
		s.(*mail.SMTP).TLS = srv.TLS
	}
	return s
}

func TestSendOverSMTP(t *testing.T) {
	msg := mail.Message{To: "Ünïcode User <user1@example.com>", Subject: "Réinitialisation", Body: "line one\nline two: https://x.example/reset/?token=abc\n"}
	for _, tc := range []struct {
		name   string
		opts   mailtest.Options
		scheme string
		user   string
	}{
		{"plain SMTP upgraded by STARTTLS", mailtest.Options{}, "smtp://", ""},
		{"STARTTLS with AUTH PLAIN", mailtest.Options{User: "mailer", Password: "p@ss word"}, "smtp://mailer:p%40ss%20word@", "mailer"},
		{"implicit TLS (smtps)", mailtest.Options{Implicit: true, User: "mailer", Password: "pw"}, "smtps://mailer:pw@", "mailer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := mailtest.Start(t, tc.opts)
			if err := sender(t, tc.scheme+srv.Addr, srv).Send(context.Background(), msg); err != nil {
				t.Fatal(err)
			}
			got := srv.Next(t, 10*time.Second)
			if !got.TLS || got.User != tc.user || got.From != "noreply@example.com" || len(got.To) != 1 || got.To[0] != "user1@example.com" {
				t.Fatalf("envelope: tls %v user %q from %q to %v", got.TLS, got.User, got.From, got.To)
			}
			subj, _ := new(mime.WordDecoder).DecodeHeader(got.Msg.Header.Get("Subject"))
			body, _ := io.ReadAll(got.Msg.Body)
			if subj != "Réinitialisation" || !strings.Contains(string(body), "line two: https://x.example/reset/?token=abc\r\n") ||
				got.Msg.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Fatalf("message: %q %q %q", subj, body, got.Msg.Header.Get("Content-Type"))
			}
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		srv := mailtest.Start(t, mailtest.Options{User: "mailer", Password: "right"})
		if err := sender(t, "smtp://mailer:wrong@"+srv.Addr, srv).Send(context.Background(), msg); err == nil {
			t.Fatal("sent with a wrong password")
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		srv := mailtest.Start(t, mailtest.Options{Implicit: true})
		s, _ := mail.New("smtps://"+srv.Addr, "noreply@example.com", io.Discard)
		if err := s.Send(context.Background(), msg); err == nil {
			t.Fatal("sent to a server whose certificate is not trusted")
		}
	})
	t.Run("nobody listening", func(t *testing.T) {
		srv := mailtest.Start(t, mailtest.Options{})
		addr := srv.Addr
		s := sender(t, "smtp://127.0.0.1:1", srv)
		if err := s.Send(context.Background(), msg); err == nil {
			t.Fatalf("sent to a closed port (server at %s)", addr)
		}
	})
}

func TestConfig(t *testing.T) {
	for _, bad := range []string{"http://x", "smtp://", "mailto:x@y", "::"} {
		if _, err := mail.New(bad, "a@b.example", io.Discard); !errors.Is(err, mail.ErrConfig) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := mail.New("", "not an address", io.Discard); !errors.Is(err, mail.ErrConfig) {
		t.Errorf("bad from: %v", err)
	}
	var out bytes.Buffer
	s, err := mail.New("", "noreply@example.com", &out)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), mail.Message{To: "u@example.com", Subject: "Hi", Body: "link: https://x/?token=t"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "To: u@example.com") || !strings.Contains(out.String(), "link: https://x/?token=t") {
		t.Fatalf("console: %q", out.String())
	}
}
