package grant

import (
	"errors"
	"time"
)

// Errors a token store returns. The protocol maps them to OAuth errors.
var (
	// ErrNotFound: unknown, expired, revoked, malformed, or belongs to
	// another client.
	ErrNotFound = errors.New("grant: not found")
	// ErrReplayed: a refresh token that was already rotated away was
	// presented again; its whole family has been revoked.
	ErrReplayed = errors.New("grant: refresh token replayed")
	// ErrUnavailable wraps every failure of the store (Redis down, a
	// timeout).
	ErrUnavailable = errors.New("grant: store unavailable")
	// ErrScope: Rotate was asked for a scope wider than the family's.
	ErrScope = errors.New("grant: scope exceeds the granted scope")
	// ErrRevoked: the user or the client was revoked (its epoch bumped)
	// after it was checked; nothing was issued.
	ErrRevoked = errors.New("grant: user or client revoked since it was checked")
	// ErrCodeReplayed: a code that was already exchanged was presented
	// again; the tokens issued from it have been revoked.
	ErrCodeReplayed = errors.New("grant: authorization code replayed")
)

// Grant is what a token family was granted for.
type Grant struct {
	ClientID string
	UserID   int64  // 0 when the grant has no user (client_credentials)
	Username string // the user's email; "" when UserID is 0
	Scope    string // space-separated, already validated
	// Checked is when the user and the client were checked: Issue
	// refuses a grant whose user or client was revoked after it.
	Checked Checked
}

// Checked is the generation (the token store's Generation) read before a
// grant's user and client were checked against the database. Zero means never: a token
// issued with it is refused once its user or client has any epoch.
type Checked struct {
	User   int64 // for the user; ignored when the grant has no user
	Client int64 // for the client
}

// Gen is the generation a token issued after these checks records: the
// later of the two. A bump after either check is seen by the issue script,
// and any later bump is higher than both.
func (c Checked) Gen() int64 { return max(c.User, c.Client) }

// Issued is the result of Issue and Rotate. RefreshToken is "" when none was
// asked for.
type Issued struct {
	AccessToken      string
	AccessExpiresAt  time.Time
	RefreshToken     string
	RefreshExpiresAt time.Time
	Family           string
	Scope            string
}

// Access is a live access token's record.
type Access struct {
	Grant
	Family    string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Refresh is a live (not yet rotated) refresh token's record. Scope is the
// scope originally granted to the family, the ceiling for narrowing.
type Refresh struct {
	Grant
	Family    string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Code is what an authorization code was issued for.
type Code struct {
	ClientID string `json:"c"`
	UserID   int64  `json:"u"`
	Username string `json:"n"`
	Scope    string `json:"s"`
	// RedirectURI is the redirect URI the code was sent to;
	// RedirectURIGiven says whether the request named it (then the token
	// request must repeat it, RFC 6749 §4.1.3).
	RedirectURI      string `json:"r"`
	RedirectURIGiven bool   `json:"rg,omitempty"`
	// Challenge and ChallengeMethod are the PKCE code_challenge (RFC 7636);
	// empty when the (confidential) client sent none.
	Challenge       string    `json:"pc,omitempty"`
	ChallengeMethod string    `json:"pm,omitempty"`
	ExpiresAt       time.Time `json:"e"`
	// Checked is the generation (the token store's Generation) read
	// before the user was checked for this code. The tokens issued for
	// the code are refused if the user was revoked after it (zero: once
	// the user has been revoked at all).
	Checked int64 `json:"g"`
}
