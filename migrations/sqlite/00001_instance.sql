-- The installation's identity: one row, written once, so that every replica
-- and every log can say which Paved installation it belongs to.

-- +goose Up
CREATE TABLE paved_instance (
    id         TEXT PRIMARY KEY,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO paved_instance (id) VALUES (lower(hex(randomblob(16))));

-- +goose Down
DROP TABLE paved_instance;
