-- Tables of the embedded event bus (src/stores/bus/table-bus.ts): a Kafka-like log kept in
-- the relational store. Unused in services mode, where Kafka carries the events.

-- One row per partition of a topic; next_offset is bumped under the row lock by each
-- publish, so offsets in a partition become visible in order.
CREATE TABLE event_partitions (
  topic       text NOT NULL,
  partition   integer NOT NULL,
  next_offset bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (topic, partition)
);

-- The append-only log; the primary key is also the read path (topic, partition, offset ≥ n).
CREATE TABLE event_log (
  topic      text NOT NULL,
  partition  integer NOT NULL,
  log_offset bigint NOT NULL,
  key        text NOT NULL,
  value      bytea NOT NULL,
  ts         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, partition, log_offset)
);

-- Committed offset per consumer group and partition, and which member holds the partition
-- until when (a lease renewed by heartbeats; an expired lease can be taken over).
CREATE TABLE event_consumer_offsets (
  group_id         text NOT NULL,
  topic            text NOT NULL,
  partition        integer NOT NULL,
  committed_offset bigint NOT NULL DEFAULT 0,
  owner            text,
  lease_until      timestamptz,
  PRIMARY KEY (group_id, topic, partition)
);

-- Live members of each group, so partitions can be spread evenly among them.
CREATE TABLE event_group_members (
  group_id     text NOT NULL,
  topic        text NOT NULL,
  member_id    text NOT NULL,
  heartbeat_at timestamptz NOT NULL,
  PRIMARY KEY (group_id, topic, member_id)
);
