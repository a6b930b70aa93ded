-- The analytics layer's rollups (src/analytics/): recommendation_logs ⋈ recommendation_feedback
-- folded into hourly tables by an incremental job, so that CTR, coverage and RMSE over any
-- window read a few thousand rollup rows instead of millions of log rows.

-- Which transaction wrote each log and feedback row. A rollup pass takes the rows of the
-- transactions that have ended since the last pass (by its snapshot: below its xmax and not
-- among the running ones), so each row is counted exactly once whatever order concurrent
-- writers commit in: a sequence or a timestamp would let a slow writer's rows land behind the
-- watermark and be missed.
ALTER TABLE recommendation_logs ADD COLUMN tx xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX recommendation_logs_tx ON recommendation_logs (tx);
ALTER TABLE recommendation_feedback ADD COLUMN tx xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX recommendation_feedback_tx ON recommendation_feedback (tx);
-- Rating events count towards online RMSE the same way (only they are indexed: the stream's
-- other rows pay for the 8-byte column, not for another index entry).
ALTER TABLE rt_user_interactions ADD COLUMN tx xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX rt_user_interactions_ratings ON rt_user_interactions (tx) WHERE type = 'rating';

-- Where the last pass stopped: its snapshot's xmax and the transactions still running then
-- (their rows, if they commit, are the next pass's), and when it ran.
CREATE TABLE analytics_watermarks (
  name       text PRIMARY KEY,
  tx         xid8 NOT NULL DEFAULT '0',
  running    xid8[] NOT NULL DEFAULT '{}',
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Served answers by hour (served_at, UTC), model version ('' when no model answered) and source.
CREATE TABLE analytics_answers_hourly (
  hour           timestamptz NOT NULL,
  model_version  text NOT NULL,
  source         text NOT NULL,
  answers        bigint NOT NULL,
  impressions    bigint NOT NULL,          -- items served
  latency_us_sum bigint NOT NULL,
  PRIMARY KEY (hour, model_version, source)
);

-- Items served by position (1-based), for CTR by position.
CREATE TABLE analytics_positions_hourly (
  hour          timestamptz NOT NULL,
  model_version text NOT NULL,
  source        text NOT NULL,
  position      integer NOT NULL,
  impressions   bigint NOT NULL,
  PRIMARY KEY (hour, model_version, source, position)
);

-- Which items were served, for catalog coverage: one bitmap per hour (and per UTC day) and
-- model version, bit i set when the item with items.idx = i was served (least significant bit
-- first). Distinct items over any window are the popcount of the OR of its bitmaps — a few
-- kilobytes a row, where one row per item served would grow by millions a month.
-- model_version '*' holds every version's items together.
CREATE TABLE analytics_items_hourly (
  hour          timestamptz NOT NULL,
  model_version text NOT NULL,
  items         bytea NOT NULL,
  PRIMARY KEY (hour, model_version)
);
CREATE TABLE analytics_items_daily (
  day           timestamptz NOT NULL,
  model_version text NOT NULL,
  items         bytea NOT NULL,
  PRIMARY KEY (day, model_version)
);

-- Answer latency (recommendation_logs.latency_us) as counts per bucket: `le_us` is the
-- bucket's upper bound in µs (the last bucket's is 2^31 − 1).
CREATE TABLE analytics_latency_hourly (
  hour    timestamptz NOT NULL,
  source  text NOT NULL,
  le_us   integer NOT NULL,
  answers bigint NOT NULL,
  PRIMARY KEY (hour, source, le_us)
);

-- What happened to each served item that got feedback (or a rating event): one row per
-- (answer, item), carrying the answer's hour, version, source, position and predicted score.
-- Merges are idempotent (earliest click, latest purchase, latest rating), so a pass may see
-- the same feedback twice without counting it twice.
CREATE TABLE analytics_outcomes (
  rec_id        uuid NOT NULL,
  item_id       text NOT NULL,
  hour          timestamptz NOT NULL,
  model_version text NOT NULL,
  source        text NOT NULL,
  position      integer NOT NULL,
  predicted     real,
  impression_at timestamptz,               -- first `impression` feedback
  clicked_at    timestamptz,               -- first `click`
  purchased_at  timestamptz,               -- last `purchase`
  rating        real,                      -- latest rating (feedback or `rating` event)
  rated_at      timestamptz,
  PRIMARY KEY (rec_id, item_id)
);
CREATE INDEX analytics_outcomes_hour ON analytics_outcomes (hour);

-- analytics_outcomes summed by hour, version, source and position; a pass recomputes the
-- hours whose outcomes it changed.
CREATE TABLE analytics_outcomes_hourly (
  hour             timestamptz NOT NULL,
  model_version    text NOT NULL,
  source           text NOT NULL,
  position         integer NOT NULL,
  clicks           bigint NOT NULL,        -- served items clicked (once each)
  conversions      bigint NOT NULL,        -- clicked, then purchased
  viewed           bigint NOT NULL,        -- served items with `impression` feedback
  viewed_clicks    bigint NOT NULL,        -- of those, clicked
  ratings          bigint NOT NULL,        -- rated items with a predicted score
  sq_error         double precision NOT NULL,
  abs_error        double precision NOT NULL,
  PRIMARY KEY (hour, model_version, source, position)
);
