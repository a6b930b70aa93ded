-- Retention of the embedded event bus (src/stores/bus/table-bus.ts prunes by age, as Kafka's
-- retention.ms): the prune finds messages older than the retention through this index
-- instead of scanning the whole log.
CREATE INDEX event_log_ts ON event_log (ts);
