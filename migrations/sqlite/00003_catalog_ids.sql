-- Entities get an integer id that the relation and search tables reference
-- instead of the 36-character uid (the search table holds ~22 rows per
-- entity, so this more than halves its size and turns its second index
-- into appends), and a search_text column with the lowercase name and
-- title, indexed by an FTS5 trigram table for substring search.
--
-- The relation and search rows are derived from entity bodies and have no
-- foreign key: checking one per row cost a fifth of a large import on
-- PostgreSQL. The store deletes them with their entity, in the same
-- transaction.
--
-- The catalog tables hold derived data: this migration empties them and
-- schedules every location for an immediate refresh that rebuilds them.
-- Entity uids change once as a result.

-- +goose Up
DROP TABLE catalog_search;
DROP TABLE catalog_relations;
DROP TABLE catalog_entities;

CREATE TABLE catalog_entities (
    id          INTEGER PRIMARY KEY,
    uid         TEXT NOT NULL UNIQUE,
    ref         TEXT NOT NULL UNIQUE,
    location_id TEXT REFERENCES catalog_locations (id) ON DELETE SET NULL,
    body        TEXT NOT NULL,
    etag        TEXT NOT NULL,
    hash        TEXT NOT NULL,
    orphan      INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL DEFAULT '',
    search_text TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX catalog_entities_location ON catalog_entities (location_id);

CREATE TABLE catalog_relations (
    entity_id  INTEGER NOT NULL,
    source_ref TEXT NOT NULL,
    type       TEXT NOT NULL,
    target_ref TEXT NOT NULL
);
CREATE INDEX catalog_relations_source ON catalog_relations (source_ref, type, target_ref);
CREATE INDEX catalog_relations_target ON catalog_relations (type, target_ref, source_ref);
CREATE INDEX catalog_relations_entity ON catalog_relations (entity_id);

-- original is the value as written, NULL when it equals value.
CREATE TABLE catalog_search (
    entity_id INTEGER NOT NULL,
    key       TEXT NOT NULL,
    value     TEXT,
    original  TEXT
);
CREATE INDEX catalog_search_key_value ON catalog_search (key, value, entity_id);
CREATE INDEX catalog_search_entity ON catalog_search (entity_id);

-- An external-content FTS5 table over search_text, kept in step by
-- triggers (the pattern from the FTS5 documentation). The trigram
-- tokenizer answers LIKE '%term%' from its index.
CREATE VIRTUAL TABLE catalog_text USING fts5(
    search_text, content = 'catalog_entities', content_rowid = 'id', tokenize = 'trigram'
);
-- +goose StatementBegin
CREATE TRIGGER catalog_entities_text_insert AFTER INSERT ON catalog_entities BEGIN
    INSERT INTO catalog_text (rowid, search_text) VALUES (new.id, new.search_text);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER catalog_entities_text_delete AFTER DELETE ON catalog_entities BEGIN
    INSERT INTO catalog_text (catalog_text, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER catalog_entities_text_update AFTER UPDATE OF search_text ON catalog_entities BEGIN
    INSERT INTO catalog_text (catalog_text, rowid, search_text) VALUES ('delete', old.id, old.search_text);
    INSERT INTO catalog_text (rowid, search_text) VALUES (new.id, new.search_text);
END;
-- +goose StatementEnd

UPDATE catalog_locations SET content_hash = '', next_refresh_at = CURRENT_TIMESTAMP;

-- +goose Down
DROP TABLE catalog_text;
DROP TABLE catalog_search;
DROP TABLE catalog_relations;
DROP TABLE catalog_entities;
CREATE TABLE catalog_entities (
    uid         TEXT PRIMARY KEY,
    ref         TEXT NOT NULL UNIQUE,
    location_id TEXT REFERENCES catalog_locations (id) ON DELETE SET NULL,
    body        TEXT NOT NULL,
    etag        TEXT NOT NULL,
    hash        TEXT NOT NULL,
    orphan      INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX catalog_entities_location ON catalog_entities (location_id);
CREATE TABLE catalog_relations (
    origin_uid TEXT NOT NULL REFERENCES catalog_entities (uid) ON DELETE CASCADE,
    source_ref TEXT NOT NULL,
    type       TEXT NOT NULL,
    target_ref TEXT NOT NULL
);
CREATE INDEX catalog_relations_source ON catalog_relations (source_ref, type, target_ref);
CREATE INDEX catalog_relations_target ON catalog_relations (type, target_ref, source_ref);
CREATE INDEX catalog_relations_origin ON catalog_relations (origin_uid);
CREATE TABLE catalog_search (
    uid      TEXT NOT NULL REFERENCES catalog_entities (uid) ON DELETE CASCADE,
    key      TEXT NOT NULL,
    value    TEXT,
    original TEXT
);
CREATE INDEX catalog_search_key_value ON catalog_search (key, value, uid);
CREATE INDEX catalog_search_uid ON catalog_search (uid);
UPDATE catalog_locations SET content_hash = '', next_refresh_at = CURRENT_TIMESTAMP;
