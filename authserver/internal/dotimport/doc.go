// Package dotimport moves a running Django OAuth Toolkit deployment (the
// tutorial's, or any DOT 1.x/2.x schema) into Portcullis: users with their
// Django password hashes, groups and memberships, applications with their
// secrets, and the live access and refresh tokens, so that nobody signs in
// again on the day of the move. It reads the Django database directly and
// streams every table; re-runs update what changed and never duplicate.
package dotimport
