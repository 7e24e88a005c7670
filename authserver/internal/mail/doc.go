// Package mail sends the auth server's e-mail (password reset links) over
// SMTP (RFC 5321), configured by one URL: smtp:// upgrades with STARTTLS
// (RFC 3207) whenever the server offers it and refuses to send credentials
// without TLS, smtps:// is TLS from the first byte (RFC 8314). Without a
// URL, messages are written to a console writer instead, for local
// development.
package mail
