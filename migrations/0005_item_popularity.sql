-- Decayed popular-item counts, kept by the speed layer (src/speed/writer.ts) in the same
-- transaction as the interactions they count, so each stored event counts exactly once.
-- `score` is the count as of `updated_at`; it halves every half-life after that, so readers
-- decay it to "now" (src/serving/popular.ts) and writers decay it before adding.
CREATE TABLE item_popularity (
  item_id    text PRIMARY KEY,
  score      double precision NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
