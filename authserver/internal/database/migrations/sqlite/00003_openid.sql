-- +goose Up
-- OpenID Connect signing keys. The private key is AES-256-GCM sealed under
-- KEY_ENCRYPTION_KEY (never stored in the clear); signs_from is when the key
-- starts signing, after it has been published in JWKS.
CREATE TABLE signing_keys (
    id          INTEGER  PRIMARY KEY AUTOINCREMENT,
    kid         TEXT     NOT NULL UNIQUE,
    alg         TEXT     NOT NULL CHECK (alg IN ('RS256', 'ES256')),
    public_jwk  TEXT     NOT NULL,
    private_key TEXT     NOT NULL,
    created_at  DATETIME NOT NULL,
    signs_from  DATETIME NOT NULL
);
CREATE INDEX signing_keys_alg ON signing_keys (alg, signs_from);

ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE clients DROP COLUMN post_logout_redirect_uris;
DROP TABLE signing_keys;
