-- The batch layer's run history and model versions (src/batch/).
-- A run records who started it, the phase it is in and each finished phase's seconds, so that
-- operators (GET /v1/admin/runs) and the next start (which marks a dead run failed) can see it.
ALTER TABLE batch_runs ADD COLUMN trigger text NOT NULL DEFAULT 'cli';
ALTER TABLE batch_runs ADD COLUMN phase text;
-- json, not jsonb: it keeps the phases in the order they ran.
ALTER TABLE batch_runs ADD COLUMN phases json NOT NULL DEFAULT '{}';
ALTER TABLE batch_runs ADD COLUMN published boolean NOT NULL DEFAULT false;
ALTER TABLE batch_runs ADD COLUMN owner text;
ALTER TABLE batch_runs ADD COLUMN created_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE batch_runs ADD CONSTRAINT batch_runs_status
  CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'rejected'));
-- One open run at a time, whoever starts it (the advisory lock says whether its holder lives).
CREATE UNIQUE INDEX batch_runs_one_open ON batch_runs ((true)) WHERE status IN ('queued', 'running');
-- A scheduled slot runs once: schedulers on one database agree through this index; a failed
-- attempt does not hold the slot, so a retry may take it.
CREATE UNIQUE INDEX batch_runs_one_per_slot ON batch_runs (scheduled_for)
  WHERE scheduled_for IS NOT NULL AND status <> 'failed';
CREATE INDEX batch_runs_created ON batch_runs (created_at DESC);

-- Precomputed answers per model version: a run writes the new version's rows beside the ones
-- being served, activation switches which version serving reads, and a rollback to a kept
-- version finds its rows still there.
ALTER TABLE batch_recommendations DROP CONSTRAINT batch_recommendations_pkey;
ALTER TABLE batch_recommendations ADD PRIMARY KEY (user_id, model_version);
CREATE INDEX batch_recommendations_version ON batch_recommendations (model_version);
