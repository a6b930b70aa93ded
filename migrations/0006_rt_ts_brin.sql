-- The speed layer appends tens of thousands of rows a second to rt_user_interactions, and a
-- B-tree on ts cost about a third of the index work per row. Rows arrive in nearly ts order,
-- so a BRIN index (one summary per block range, almost free to maintain) serves the only
-- range query on ts, the archiver's "older than the retention", just as well.
DROP INDEX rt_user_interactions_ts;
CREATE INDEX rt_user_interactions_ts ON rt_user_interactions USING brin (ts);
