-- The installation's identity: one row, written once, so that every replica
-- and every log can say which Paved installation it belongs to.

-- +goose Up
CREATE TABLE paved_instance (
    id         TEXT PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
INSERT INTO paved_instance (id) VALUES (replace(gen_random_uuid()::text, '-', ''));

-- +goose Down
DROP TABLE paved_instance;
