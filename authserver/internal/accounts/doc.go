// Package accounts holds the auth server's users: email normalisation and
// validation as Django does it, the SQL store (PostgreSQL or SQLite through
// one sqlx code path), and the account operations the HTTP layer calls
// (signup, authenticate, change password, create a superuser). Field-level
// problems come back as FieldErrors, in Django REST framework's shape.
package accounts
