-- Running scaffolder tasks: which worker holds a task (claimed_by, with
-- last_heartbeat_at saying it is alive), and the task's secrets while it
-- may still run, sealed with the scaffolder's key (AES-256-GCM) and
-- erased when the task ends.

-- +goose Up
ALTER TABLE scaffolder_tasks ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE scaffolder_tasks ADD COLUMN sealed_secrets TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE scaffolder_tasks DROP COLUMN sealed_secrets;
ALTER TABLE scaffolder_tasks DROP COLUMN claimed_by;
