-- Scaffolder tasks: a template run with its values, the state of each
-- step, and its event log (what the event stream serves), kept so that a
-- task survives the process that ran it.

-- +goose Up
CREATE TABLE scaffolder_tasks (
    id                TEXT PRIMARY KEY,
    template_ref      TEXT NOT NULL,
    -- spec is the template entity and the values, as JSON; secrets are
    -- never stored here.
    spec              TEXT NOT NULL,
    -- status is open, processing, completed, failed or cancelled.
    status            TEXT NOT NULL,
    created_by        TEXT NOT NULL DEFAULT '',
    steps             TEXT NOT NULL DEFAULT '[]',
    output            TEXT NOT NULL DEFAULT '{}',
    last_error        TEXT NOT NULL DEFAULT '',
    cancel_requested  BOOLEAN NOT NULL DEFAULT FALSE,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL,
    last_heartbeat_at TIMESTAMP
);
CREATE INDEX scaffolder_tasks_created ON scaffolder_tasks (created_at, id);
CREATE INDEX scaffolder_tasks_status ON scaffolder_tasks (status, last_heartbeat_at);
CREATE INDEX scaffolder_tasks_created_by ON scaffolder_tasks (created_by, created_at);

CREATE TABLE scaffolder_task_events (
    id         INTEGER PRIMARY KEY,
    task_id    TEXT NOT NULL,
    event_type TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX scaffolder_task_events_task ON scaffolder_task_events (task_id, id);

-- +goose Down
DROP TABLE scaffolder_task_events;
DROP TABLE scaffolder_tasks;
