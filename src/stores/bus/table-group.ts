/**
 * Group membership and partition leases of the embedded bus, all in SQL so that members in
 * several processes (over PostgreSQL) coordinate as well as members in one (over PGlite):
 *  - each member upserts a heartbeat row; rows older than the session timeout are dead;
 *  - live members, sorted by id, split partitions round-robin (p mod count = my index);
 *  - a member holds a partition through a lease in event_consumer_offsets, renewed by its
 *    heartbeats; a released or expired lease can be taken by the member the split names;
 *  - commits are fenced on ownership, so a member that lost a partition cannot move its offset.
 * Times come from the database's clock (now()), never from the members' own clocks.
 */
import type { Queryable } from '../relational/port.js';

export interface GroupKey {
  groupId: string;
  topic: string;
  memberId: string;
}

export class TableGroup {
  constructor(
    private readonly db: Queryable,
    private readonly key: GroupKey,
    private readonly partitions: number,
    private readonly sessionTimeoutMs: number,
  ) {}

  private get params() {
    return [this.key.groupId, this.key.topic, this.key.memberId] as const;
  }

  /** Makes sure every partition has an offsets row (new groups start at offset 0). */
  async init(): Promise<void> {
    await this.db.query(
      `INSERT INTO event_consumer_offsets (group_id, topic, partition)
       SELECT $1, $2, g FROM generate_series(0, $3::int - 1) AS g
       ON CONFLICT DO NOTHING`,
      [this.key.groupId, this.key.topic, this.partitions],
    );
  }

  /** Records that this member is alive and extends its leases; returns the partitions it still holds. */
  async heartbeat(): Promise<number[]> {
    await this.db.query(
      `INSERT INTO event_group_members (group_id, topic, member_id, heartbeat_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (group_id, topic, member_id) DO UPDATE SET heartbeat_at = now()`,
      [...this.params],
    );
    const { rows } = await this.db.query<{ partition: number }>(
      `UPDATE event_consumer_offsets SET lease_until = now() + $4::int * interval '1 millisecond'
       WHERE group_id = $1 AND topic = $2 AND owner = $3
       RETURNING partition`,
      [...this.params, this.sessionTimeoutMs],
    );
    return rows.map((r) => r.partition);
  }

  /** The partitions the current split gives this member. */
  async target(): Promise<number[]> {
    await this.db.query(
      `DELETE FROM event_group_members
       WHERE group_id = $1 AND topic = $2 AND heartbeat_at < now() - $3::int * interval '1 millisecond'`,
      [this.key.groupId, this.key.topic, this.sessionTimeoutMs],
    );
    const { rows } = await this.db.query<{ member_id: string }>(
      'SELECT member_id FROM event_group_members WHERE group_id = $1 AND topic = $2 ORDER BY member_id',
      [this.key.groupId, this.key.topic],
    );
    const members = rows.map((r) => r.member_id);
    const me = members.indexOf(this.key.memberId);
    if (me < 0) return []; // our heartbeat expired; the next one brings us back
    const mine: number[] = [];
    for (let p = me; p < this.partitions; p += members.length) mine.push(p);
    return mine;
  }

  /** Takes the free or expired partitions among `wanted`; returns them with their committed offsets. */
  async acquire(wanted: readonly number[]): Promise<Map<number, number>> {
    if (wanted.length === 0) return new Map();
    const { rows } = await this.db.query<{ partition: number; committed_offset: number }>(
      `UPDATE event_consumer_offsets
       SET owner = $3, lease_until = now() + $4::int * interval '1 millisecond'
       WHERE group_id = $1 AND topic = $2 AND partition = ANY($5::int[])
         AND (owner IS NULL OR owner = $3 OR lease_until < now())
       RETURNING partition, committed_offset`,
      [...this.params, this.sessionTimeoutMs, wanted],
    );
    return new Map(rows.map((r) => [r.partition, r.committed_offset]));
  }

  async release(partitions: readonly number[]): Promise<void> {
    if (partitions.length === 0) return;
    await this.db.query(
      `UPDATE event_consumer_offsets SET owner = NULL, lease_until = NULL
       WHERE group_id = $1 AND topic = $2 AND owner = $3 AND partition = ANY($4::int[])`,
      [...this.params, partitions],
    );
  }

  /** Moves the committed offset if this member still owns the partition; false if it lost it. */
  async commit(partition: number, nextOffset: number): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `UPDATE event_consumer_offsets SET committed_offset = $5
       WHERE group_id = $1 AND topic = $2 AND owner = $3 AND partition = $4`,
      [...this.params, partition, nextOffset],
    );
    return rowCount > 0;
  }

  async leave(): Promise<void> {
    await this.db.query(
      `UPDATE event_consumer_offsets SET owner = NULL, lease_until = NULL
       WHERE group_id = $1 AND topic = $2 AND owner = $3`,
      [...this.params],
    );
    await this.db.query(
      'DELETE FROM event_group_members WHERE group_id = $1 AND topic = $2 AND member_id = $3',
      [...this.params],
    );
  }
}
