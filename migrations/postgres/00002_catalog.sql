-- The service catalog: locations, entities, their relations in both
-- directions, and a flattened key/value index of every entity for filters,
-- ordering and facets (as Backstage's own catalog keeps it).

-- +goose Up
CREATE TABLE catalog_locations (
    id              TEXT PRIMARY KEY,
    type            TEXT NOT NULL,
    target          TEXT NOT NULL,
    content_hash    TEXT NOT NULL DEFAULT '',
    last_error      TEXT NOT NULL DEFAULT '',
    refreshed_at    TIMESTAMPTZ,
    next_refresh_at TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (type, target)
);
CREATE INDEX catalog_locations_next_refresh ON catalog_locations (next_refresh_at);

CREATE TABLE catalog_entities (
    uid         TEXT PRIMARY KEY,
    ref         TEXT NOT NULL UNIQUE,
    location_id TEXT REFERENCES catalog_locations (id) ON DELETE SET NULL,
    body        TEXT NOT NULL,
    etag        TEXT NOT NULL,
    hash        TEXT NOT NULL,
    orphan      BOOLEAN NOT NULL DEFAULT FALSE,
    status      TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
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

-- +goose Down
DROP TABLE catalog_search;
DROP TABLE catalog_relations;
DROP TABLE catalog_entities;
DROP TABLE catalog_locations;
