-- Domain tables of DESIGN.md section 3. Same SQL on PGlite and PostgreSQL.
-- No foreign keys between the high-volume tables: bulk loads and the stream processor
-- write them in whatever order the data arrives.

CREATE TABLE items (
  item_id    text PRIMARY KEY,
  idx        integer NOT NULL UNIQUE,          -- dense row index into the item factor matrix
  title      text,
  category   text,
  attributes jsonb NOT NULL DEFAULT '{}',
  active     boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX items_category ON items (category) WHERE active;

CREATE TABLE users (
  user_id    text PRIMARY KEY,
  idx        integer NOT NULL UNIQUE,          -- dense row index into the user factor matrix
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE user_profiles (
  user_id        text PRIMARY KEY,
  model_version  text NOT NULL,
  vector         bytea NOT NULL,               -- float32 little-endian, one per factor
  n_interactions integer NOT NULL DEFAULT 0,
  updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Recent interactions only: a maintenance job archives rows older than 48 h, then deletes
-- them (never deleted unarchived); the ts index makes that range cheap to find.
CREATE TABLE rt_user_interactions (
  event_id uuid PRIMARY KEY,
  user_id  text NOT NULL,
  item_id  text NOT NULL,
  type     text NOT NULL,
  value    real,
  ts       timestamptz NOT NULL
);
CREATE INDEX rt_user_interactions_user_ts ON rt_user_interactions (user_id, ts DESC);
CREATE INDEX rt_user_interactions_ts ON rt_user_interactions (ts);

CREATE TABLE batch_recommendations (
  user_id       text PRIMARY KEY,
  model_version text NOT NULL,
  item_ids      text[] NOT NULL,
  scores        real[] NOT NULL,
  generated_at  timestamptz NOT NULL DEFAULT now(),
  CHECK (cardinality(item_ids) = cardinality(scores))
);

CREATE TABLE models (
  version      text PRIMARY KEY,
  algorithm    text NOT NULL,
  params       jsonb NOT NULL DEFAULT '{}',
  metrics      jsonb NOT NULL DEFAULT '{}',
  artifact_uri text,
  status       text NOT NULL DEFAULT 'candidate' CHECK (status IN ('candidate', 'active', 'retired')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  activated_at timestamptz
);
-- At most one active model: activation is "retire the old, activate the new" in one transaction.
CREATE UNIQUE INDEX models_one_active ON models ((status)) WHERE status = 'active';

CREATE TABLE batch_runs (
  run_id        text PRIMARY KEY,
  scheduled_for timestamptz,
  started_at    timestamptz,
  finished_at   timestamptz,
  status        text NOT NULL,
  error         text,
  model_version text,
  metrics       jsonb
);
CREATE INDEX batch_runs_scheduled_for ON batch_runs (scheduled_for);

CREATE TABLE recommendation_logs (
  rec_id        uuid PRIMARY KEY,
  user_id       text NOT NULL,
  model_version text,
  source        text NOT NULL CHECK (source IN ('l0', 'l1', 'l2', 'batch', 'realtime', 'popular')),
  item_ids      text[] NOT NULL,
  scores        real[] NOT NULL,
  served_at     timestamptz NOT NULL DEFAULT now(),
  latency_us    integer
);
CREATE INDEX recommendation_logs_served_at ON recommendation_logs (served_at);
CREATE INDEX recommendation_logs_user ON recommendation_logs (user_id, served_at DESC);

CREATE TABLE recommendation_feedback (
  id       bigserial PRIMARY KEY,
  rec_id   uuid,                                -- null for feedback not tied to a logged list
  user_id  text NOT NULL,
  item_id  text NOT NULL,
  position integer,
  action   text NOT NULL CHECK (action IN ('impression', 'click', 'add_to_cart', 'purchase', 'dismiss', 'rating')),
  value    real,
  ts       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recommendation_feedback_rec ON recommendation_feedback (rec_id);
CREATE INDEX recommendation_feedback_ts ON recommendation_feedback (ts);
