-- +goose Up
CREATE TABLE users (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    email        TEXT     NOT NULL,
    email_key    TEXT     NOT NULL,
    password     TEXT     NOT NULL,
    is_active    BOOLEAN  NOT NULL DEFAULT 1,
    is_staff     BOOLEAN  NOT NULL DEFAULT 0,
    is_superuser BOOLEAN  NOT NULL DEFAULT 0,
    date_joined  DATETIME NOT NULL,
    last_login   DATETIME NULL
);
CREATE UNIQUE INDEX users_email_key ON users (email_key);

CREATE TABLE groups (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE user_groups (
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX user_groups_group ON user_groups (group_id);

CREATE TABLE clients (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id          TEXT     NOT NULL UNIQUE,
    name               TEXT     NOT NULL,
    secret_hash        TEXT     NOT NULL DEFAULT '',
    client_type        TEXT     NOT NULL CHECK (client_type IN ('confidential', 'public')),
    grant_types        TEXT     NOT NULL,
    redirect_uris      TEXT     NOT NULL DEFAULT '',
    scopes             TEXT     NOT NULL DEFAULT '',
    skip_authorization BOOLEAN  NOT NULL DEFAULT 0,
    algorithm          TEXT     NOT NULL DEFAULT '',
    user_id            INTEGER  NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at         DATETIME NOT NULL,
    updated_at         DATETIME NOT NULL
);
CREATE INDEX clients_user ON clients (user_id);

-- +goose Down
DROP TABLE clients;
DROP TABLE user_groups;
DROP TABLE groups;
DROP TABLE users;
