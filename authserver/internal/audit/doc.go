// Package audit keeps the admin's history, as Django's admin log does:
// every change made in the admin (users, groups, applications, token
// revocations) with who made it, when, on what object, and which fields
// changed. It records field names only, never values, so that no
// password, secret or hash reaches the log. Entries live in SQL beside the
// objects they describe (table admin_log).
package audit
