// Package passwords hashes and checks user passwords and applies Django's
// default password validators, so that accounts migrated from the Django OAuth
// Toolkit tutorial keep working and new passwords get the same rules.
//
// New hashes are argon2id (RFC 9106) in PHC string form. Verify also accepts
// bcrypt and the Django hasher formats pbkdf2_sha256, bcrypt, bcrypt_sha256 and
// argon2, and reports needsRehash so the caller can upgrade a stored hash on the
// next successful login. Passwords longer than MaxPasswordBytes are refused
// before any key derivation runs, which caps the work one request can cause.
//
// The common-password list (common-passwords.txt.gz) is Django's, copied
// unchanged from Debian's python3-django 3:3.2.25-0+deb12u7
// (/usr/lib/python3/dist-packages/django/contrib/auth/common-passwords.txt.gz,
// sha256 a73d3d14f1e9ee570a18232dc1edfd129dc9c0da4315da2b69ad6d92914a6fe6).
// It holds 19,727 entries: 20,000 passwords compiled by Royce Williams
// (https://gist.github.com/roycewilliams/281ce539915a947a23db17137d91aeb7),
// lowercased and deduplicated by Django, and is distributed under Django's
// BSD-3-Clause licence; see NOTICE in this directory.
package passwords
