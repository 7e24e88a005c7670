package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Message is one plain-text e-mail.
type Message struct {
	To, Subject, Body string
}

// Sender sends messages. Implementations are safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrConfig is a bad SMTP_URL or sender address.
var ErrConfig = errors.New("mail: bad configuration")

// New returns the Sender for rawURL (SMTP_URL): smtp://[user:pass@]host[:587]
// or smtps://[user:pass@]host[:465]; "" gives a Console writing to console.
// from is the From address. Errors: ErrConfig.
func New(rawURL, from string, console io.Writer) (Sender, error) {
	addr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("%w: MAIL_FROM %q: %v", ErrConfig, from, err)
	}
	if rawURL == "" {
		return &Console{W: console, From: addr.String()}, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "smtp" && u.Scheme != "smtps") {
		return nil, fmt.Errorf("%w: SMTP_URL must be smtp://host[:port] or smtps://host[:port]", ErrConfig)
	}
	s := &SMTP{Host: u.Hostname(), Port: u.Port(), Implicit: u.Scheme == "smtps", From: addr, Timeout: 30 * time.Second}
	if s.Port == "" {
		s.Port = "587"
		if s.Implicit {
			s.Port = "465"
		}
	}
	if u.User != nil {
		s.User = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	return s, nil
}

// SMTP delivers through one SMTP server.
type SMTP struct {
	Host, Port     string
	Implicit       bool // smtps: TLS from the start
	User, Password string
	From           *mail.Address
	Timeout        time.Duration
	// TLS, when set, replaces the default TLS configuration (tests trust
	// their own certificate with it).
	TLS *tls.Config
}

// Send delivers m. Errors: the server's or the network's, wrapped.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return fmt.Errorf("mail: send: recipient: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.Timeout)
	defer cancel()
	tlsConf := s.TLS
	if tlsConf == nil {
		tlsConf = &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}
	}
	addr := net.JoinHostPort(s.Host, s.Port)
	var conn net.Conn
	if s.Implicit {
		conn, err = (&tls.Dialer{Config: tlsConf}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return fmt.Errorf("mail: send: dial: %w", err)
	}
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("mail: send: hello: %w", err)
	}
	defer c.Close()
	if !s.Implicit {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConf); err != nil {
				return fmt.Errorf("mail: send: starttls: %w", err)
			}
		}
	}
	if s.User != "" {
		// PlainAuth refuses to send the password without TLS (except to
		// localhost), so a downgraded connection never carries it.
		if err := c.Auth(smtp.PlainAuth("", s.User, s.Password, s.Host)); err != nil {
			return fmt.Errorf("mail: send: auth: %w", err)
		}
	}
	if err := c.Mail(s.From.Address); err != nil {
		return fmt.Errorf("mail: send: from: %w", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return fmt.Errorf("mail: send: rcpt: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: send: data: %w", err)
	}
	if _, err := w.Write(compose(s.From.String(), to.String(), m)); err != nil {
		return fmt.Errorf("mail: send: data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: send: data: %w", err)
	}
	return c.Quit()
}

// compose renders m as an RFC 5322 message: UTF-8 text, CRLF lines, the
// subject encoded as RFC 2047 needs.
func compose(from, to string, m Message) []byte {
	var b strings.Builder
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", from)
	hdr("To", to)
	hdr("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	hdr("Date", time.Now().UTC().Format(time.RFC1123Z))
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	b.WriteString(body)
	if !strings.HasSuffix(body, "\r\n") {
		b.WriteString("\r\n")
	}
	return []byte(b.String())
}

// Console writes messages to W instead of sending them: local
// development's mail (make run). What it writes includes the message's
// body, reset links too, which is why nothing but local development should
// run without SMTP_URL.
type Console struct {
	W    io.Writer
	From string
	mu   sync.Mutex
}

// Send writes m to the console.
func (c *Console) Send(_ context.Context, m Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := fmt.Fprintf(c.W, "----- e-mail (SMTP_URL is unset: written here, not sent) -----\nFrom: %s\nTo: %s\nSubject: %s\n\n%s\n----- end of e-mail -----\n",
		c.From, m.To, m.Subject, strings.TrimRight(m.Body, "\n"))
	return err
}
