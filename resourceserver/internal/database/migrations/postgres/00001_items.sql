-- +goose Up
-- users mirrors the auth server's users the first time a token names one,
-- as DOT does; sub is the auth server's user id, email its username.
CREATE TABLE users (
    sub         TEXT        PRIMARY KEY,
    email       TEXT        NOT NULL,
    date_joined TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE items (
    id          BIGSERIAL     PRIMARY KEY,
    name        VARCHAR(50)   NOT NULL UNIQUE,
    description VARCHAR(250)  NOT NULL,
    price       NUMERIC(14,2) NOT NULL,
    user_sub    TEXT          NOT NULL REFERENCES users (sub) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ   NOT NULL DEFAULT now()
);
CREATE INDEX items_user_sub ON items (user_sub);

-- +goose Down
DROP TABLE items;
DROP TABLE users;
