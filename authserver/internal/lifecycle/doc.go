// Package lifecycle decides who may hold tokens. It owns what ends tokens
// for a reason outside OAuth itself: a user deactivated, a password reset
// by an admin or changed by its owner, a client deleted or changed, an
// application's access revoked by its user. Each ends the tokens with a
// typed reason from shared/revocation, through the token store's epochs
// (a checked fact, not only a walk over indexes), and keeps every replica's
// client cache coherent. The web and httpapi packages call it after their
// database change has committed, and never reach into the token store.
package lifecycle
