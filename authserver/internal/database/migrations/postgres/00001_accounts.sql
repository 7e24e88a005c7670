-- +goose Up
CREATE TABLE users (
    id           BIGSERIAL PRIMARY KEY,
    email        TEXT        NOT NULL,
    email_key    TEXT        NOT NULL,
    password     TEXT        NOT NULL,
    is_active    BOOLEAN     NOT NULL DEFAULT TRUE,
    is_staff     BOOLEAN     NOT NULL DEFAULT FALSE,
    is_superuser BOOLEAN     NOT NULL DEFAULT FALSE,
    date_joined  TIMESTAMPTZ NOT NULL,
    last_login   TIMESTAMPTZ NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email_key);

CREATE TABLE groups (
    id   BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE user_groups (
    user_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX user_groups_group ON user_groups (group_id);

CREATE TABLE clients (
    id                 BIGSERIAL PRIMARY KEY,
    client_id          TEXT        NOT NULL UNIQUE,
    name               TEXT        NOT NULL,
    secret_hash        TEXT        NOT NULL DEFAULT '',
    client_type        TEXT        NOT NULL CHECK (client_type IN ('confidential', 'public')),
    grant_types        TEXT        NOT NULL,
    redirect_uris      TEXT        NOT NULL DEFAULT '',
    scopes             TEXT        NOT NULL DEFAULT '',
    skip_authorization BOOLEAN     NOT NULL DEFAULT FALSE,
    algorithm          TEXT        NOT NULL DEFAULT '',
    user_id            BIGINT      NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX clients_user ON clients (user_id);

-- +goose Down
DROP TABLE clients;
DROP TABLE user_groups;
DROP TABLE groups;
DROP TABLE users;
