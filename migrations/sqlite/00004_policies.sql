-- Policy-as-code: policy sets with immutable versions, the history of
-- activations, the decision log, the latest admission review of each object
-- (replayed by previews) and the results of the last cluster audit.

-- +goose Up
CREATE TABLE policy_sets (
    name           TEXT PRIMARY KEY,
    -- active_version is NULL until a version is activated.
    active_version INTEGER,
    -- generation grows with every activation, so replicas notice a
    -- re-activation of the version they already run.
    generation     INTEGER NOT NULL DEFAULT 0,
    activated_at   TIMESTAMP,
    created_at     TIMESTAMP NOT NULL
);

CREATE TABLE policy_versions (
    set_name   TEXT NOT NULL REFERENCES policy_sets (name) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    modules    TEXT NOT NULL,
    data       TEXT NOT NULL,
    message    TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (set_name, version)
);

CREATE TABLE policy_activations (
    id               INTEGER PRIMARY KEY,
    set_name         TEXT NOT NULL REFERENCES policy_sets (name) ON DELETE CASCADE,
    version          INTEGER NOT NULL,
    previous_version INTEGER,
    action           TEXT NOT NULL,
    at               TIMESTAMP NOT NULL
);
CREATE INDEX policy_activations_set ON policy_activations (set_name, id);

CREATE TABLE policy_decisions (
    id          TEXT PRIMARY KEY,
    at          TIMESTAMP NOT NULL,
    source      TEXT NOT NULL,
    target      TEXT NOT NULL,
    kind        TEXT NOT NULL DEFAULT '',
    namespace   TEXT NOT NULL DEFAULT '',
    name        TEXT NOT NULL DEFAULT '',
    operation   TEXT NOT NULL DEFAULT '',
    username    TEXT NOT NULL DEFAULT '',
    revision    TEXT NOT NULL DEFAULT '',
    allowed     INTEGER NOT NULL DEFAULT 0,
    dry_run     INTEGER NOT NULL DEFAULT 0,
    violations  TEXT NOT NULL DEFAULT '[]',
    error       TEXT NOT NULL DEFAULT '',
    duration_us INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX policy_decisions_at ON policy_decisions (at, id);
CREATE INDEX policy_decisions_object ON policy_decisions (namespace, kind, name);

CREATE TABLE policy_review_samples (
    object_key TEXT PRIMARY KEY,
    at         TIMESTAMP NOT NULL,
    input      TEXT NOT NULL
);
CREATE INDEX policy_review_samples_at ON policy_review_samples (at);

CREATE TABLE policy_audit_results (
    api_version TEXT NOT NULL,
    kind        TEXT NOT NULL,
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    revision    TEXT NOT NULL,
    violations  TEXT NOT NULL,
    audited_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (kind, namespace, name, api_version)
);

CREATE TABLE policy_audit_runs (
    id         INTEGER PRIMARY KEY,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP NOT NULL,
    revision   TEXT NOT NULL,
    objects    INTEGER NOT NULL,
    violating  INTEGER NOT NULL,
    error      TEXT NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE policy_audit_runs;
DROP TABLE policy_audit_results;
DROP TABLE policy_review_samples;
DROP TABLE policy_decisions;
DROP TABLE policy_activations;
DROP TABLE policy_versions;
DROP TABLE policy_sets;
