-- Retention → archive of rt_user_interactions (src/speed/archiver.ts). A sweep claims old rows by
-- setting archive_key to the object key of the Parquet part they go to (one statement, FOR UPDATE
-- SKIP LOCKED), writes that part from exactly the rows carrying the key, reads it back, and only
-- then deletes them. A row's key never changes once set, so a crashed sweep's keys are finished
-- by the next one, and rewriting a part gives the same rows under the same key.
ALTER TABLE rt_user_interactions ADD COLUMN archive_key text;
-- When the row was stored: a late event (ts already past the retention) stays at least a grace
-- period, so a redelivered copy still meets it here (ON CONFLICT) instead of reaching the archive twice.
ALTER TABLE rt_user_interactions ADD COLUMN inserted_at timestamptz NOT NULL DEFAULT now();
-- Claimed, not yet deleted rows: few at any time, found by key.
CREATE INDEX rt_user_interactions_archive_key ON rt_user_interactions (archive_key)
  WHERE archive_key IS NOT NULL;
