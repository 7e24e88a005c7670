package signing

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/portcullis-oauth/portcullis/authserver/internal/database"
)

// The signing algorithms (RFC 7518 §3.1). RS256 is the default.
const (
	RS256 = "RS256"
	ES256 = "ES256"
)

// Algorithms lists every algorithm a client may choose, the default first.
var Algorithms = []string{RS256, ES256}

// ErrAlgorithm is an algorithm this package does not sign with.
var ErrAlgorithm = errors.New("signing: algorithm must be RS256 or ES256")

// Key is one signing key. Private is nil for a key listed without its
// private half (a retired key is never decrypted).
type Key struct {
	KID       string
	Alg       string
	CreatedAt time.Time
	// SignsFrom is when the key starts signing; until then it is only
	// published.
	SignsFrom time.Time
	Public    jose.JSONWebKey
	private   crypto.Signer
}

// store reads and writes the signing_keys table.
type store struct {
	db  *database.DB
	kek *KEK
}

type keyRow struct {
	KID        string    `db:"kid"`
	Alg        string    `db:"alg"`
	PublicJWK  string    `db:"public_jwk"`
	PrivateKey string    `db:"private_key"`
	CreatedAt  time.Time `db:"created_at"`
	SignsFrom  time.Time `db:"signs_from"`
}

// generate makes a fresh key pair for alg: RSA 2048 or ECDSA P-256. The
// kid is the key's RFC 7638 thumbprint.
func generate(alg string) (crypto.Signer, jose.JSONWebKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, jose.JSONWebKey{}, ErrAlgorithm
	}
	if err != nil {
		return nil, jose.JSONWebKey{}, fmt.Errorf("signing: generate: %w", err)
	}
	pub := jose.JSONWebKey{Key: priv.Public(), Algorithm: alg, Use: "sig"}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, jose.JSONWebKey{}, fmt.Errorf("signing: thumbprint: %w", err)
	}
	pub.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	return priv, pub, nil
}

// create generates and stores a key of alg that signs from signsFrom.
func (s *store) create(ctx context.Context, alg string, now, signsFrom time.Time) (Key, error) {
	priv, pub, err := generate(alg)
	if err != nil {
		return Key{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return Key{}, fmt.Errorf("signing: create: %w", err)
	}
	sealed, err := s.kek.seal(der, pub.KeyID+"."+alg)
	if err != nil {
		return Key{}, err
	}
	pubJSON, err := json.Marshal(pub)
	if err != nil {
		return Key{}, fmt.Errorf("signing: create: %w", err)
	}
	k := Key{KID: pub.KeyID, Alg: alg, CreatedAt: now.UTC(), SignsFrom: signsFrom.UTC(), Public: pub, private: priv}
	_, err = s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO signing_keys (kid, alg, public_jwk, private_key, created_at, signs_from)
		VALUES (?, ?, ?, ?, ?, ?)`), k.KID, k.Alg, string(pubJSON), sealed, k.CreatedAt, k.SignsFrom)
	if err != nil {
		return Key{}, fmt.Errorf("signing: create: %w", err)
	}
	return k, nil
}

// all returns every key, oldest first per algorithm, without private halves.
func (s *store) all(ctx context.Context) ([]keyRow, error) {
	var rows []keyRow
	err := s.db.SelectContext(ctx, &rows, `SELECT kid, alg, public_jwk, private_key, created_at, signs_from
		FROM signing_keys ORDER BY alg, signs_from, id`)
	if err != nil {
		return nil, fmt.Errorf("signing: list: %w", err)
	}
	return rows, nil
}

// decode turns a row into a Key; withPrivate opens the sealed private key.
func (s *store) decode(r keyRow, withPrivate bool) (Key, error) {
	k := Key{KID: r.KID, Alg: r.Alg, CreatedAt: r.CreatedAt.UTC(), SignsFrom: r.SignsFrom.UTC()}
	if err := json.Unmarshal([]byte(r.PublicJWK), &k.Public); err != nil {
		return Key{}, fmt.Errorf("signing: key %s: public key: %w", r.KID, err)
	}
	if !withPrivate {
		return k, nil
	}
	der, err := s.kek.open(r.PrivateKey, r.KID+"."+r.Alg)
	if err != nil {
		return Key{}, fmt.Errorf("signing: key %s: %w", r.KID, err)
	}
	p, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return Key{}, fmt.Errorf("signing: key %s: %w", r.KID, err)
	}
	signer, ok := p.(crypto.Signer)
	if !ok {
		return Key{}, fmt.Errorf("signing: key %s: not a signing key", r.KID)
	}
	k.private = signer
	return k, nil
}
