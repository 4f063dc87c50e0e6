-- Provisioning: the environments Paved provisioned (one namespace each and
-- its pipeline) with the last known state of their objects, and the drift
-- the reconciler corrected.

-- +goose Up
CREATE TABLE provisioned_environments (
    service            TEXT NOT NULL,
    environment        TEXT NOT NULL,
    team               TEXT NOT NULL,
    cluster            TEXT NOT NULL,
    namespace          TEXT NOT NULL,
    pipeline           TEXT NOT NULL DEFAULT '',
    repo_url           TEXT NOT NULL DEFAULT '',
    viewers            TEXT NOT NULL DEFAULT '[]',
    -- status is provisioning, ready or failed.
    status             TEXT NOT NULL,
    objects            TEXT NOT NULL DEFAULT '[]',
    last_error         TEXT NOT NULL DEFAULT '',
    last_applied_at    TIMESTAMP,
    last_reconciled_at TIMESTAMP,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    PRIMARY KEY (service, environment)
);
CREATE UNIQUE INDEX provisioned_environments_namespace ON provisioned_environments (cluster, namespace);
CREATE INDEX provisioned_environments_team ON provisioned_environments (team);

CREATE TABLE provisioning_drift (
    id           INTEGER PRIMARY KEY,
    service      TEXT NOT NULL,
    environment  TEXT NOT NULL,
    api_version  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    namespace    TEXT NOT NULL DEFAULT '',
    name         TEXT NOT NULL,
    -- reason is changed (fields differed) or deleted (the object was gone).
    reason       TEXT NOT NULL,
    fields       TEXT NOT NULL,
    changed_by   TEXT NOT NULL DEFAULT '[]',
    corrected_by TEXT NOT NULL DEFAULT '',
    corrected_at TIMESTAMP NOT NULL,
    FOREIGN KEY (service, environment) REFERENCES provisioned_environments (service, environment) ON DELETE CASCADE
);
CREATE INDEX provisioning_drift_environment ON provisioning_drift (service, environment, id);

-- +goose Down
DROP TABLE provisioning_drift;
DROP TABLE provisioned_environments;
