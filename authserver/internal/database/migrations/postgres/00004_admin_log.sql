-- +goose Up
-- The admin's history (Django's django_admin_log): who changed what, and
-- which fields; never a field's value.
CREATE TABLE admin_log (
    id          BIGSERIAL   PRIMARY KEY,
    action_time TIMESTAMPTZ NOT NULL,
    actor_id    BIGINT      REFERENCES users (id) ON DELETE SET NULL,
    actor_email TEXT        NOT NULL,
    object_type TEXT        NOT NULL,
    object_id   TEXT        NOT NULL,
    object_repr TEXT        NOT NULL,
    action      TEXT        NOT NULL,
    fields      TEXT        NOT NULL DEFAULT '',
    message     TEXT        NOT NULL DEFAULT ''
);
CREATE INDEX admin_log_time ON admin_log (action_time, id);
CREATE INDEX admin_log_object ON admin_log (object_type, object_id, action_time);
CREATE INDEX admin_log_actor ON admin_log (actor_id, action_time);

-- +goose Down
DROP TABLE admin_log;
