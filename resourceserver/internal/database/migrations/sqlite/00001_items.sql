-- +goose Up
-- users mirrors the auth server's users the first time a token names one,
-- as DOT does; sub is the auth server's user id, email its username.
-- price is the canonical decimal string ("12.50"): SQLite has no exact
-- decimal type, and a REAL column would round.
CREATE TABLE users (
    sub         TEXT     PRIMARY KEY,
    email       TEXT     NOT NULL,
    date_joined DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE items (
    id          INTEGER  PRIMARY KEY AUTOINCREMENT,
    name        TEXT     NOT NULL UNIQUE,
    description TEXT     NOT NULL,
    price       TEXT     NOT NULL,
    user_sub    TEXT     NOT NULL REFERENCES users (sub) ON DELETE CASCADE,
    created_at  DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX items_user_sub ON items (user_sub);

-- +goose Down
DROP TABLE items;
DROP TABLE users;
