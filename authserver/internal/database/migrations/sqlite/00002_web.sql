-- +goose Up
CREATE INDEX users_staff_email ON users (is_staff, email_key);
CREATE INDEX users_active_email ON users (is_active, email_key);

CREATE TABLE consents (
    user_id    INTEGER  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_pk  INTEGER  NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scope      TEXT     NOT NULL,
    updated_at DATETIME NOT NULL,
    PRIMARY KEY (user_id, client_pk)
);
CREATE INDEX consents_client ON consents (client_pk);

-- +goose Down
DROP TABLE consents;
DROP INDEX users_active_email;
DROP INDEX users_staff_email;
