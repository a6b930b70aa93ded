// The relational store contract, written once; each adapter's test file supplies a factory.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { QueryError, StoreClosedError } from '../../../src/stores/errors.js';
import { CopyBinaryWriter } from '../../../src/stores/relational/copy-binary.js';
import { loadMigrations, migrate } from '../../../src/stores/relational/migrate.js';
import type { RelationalStore } from '../../../src/stores/relational/port.js';

export interface RelationalHarness {
  /** A fresh, empty (unmigrated) database. */
  db: RelationalStore;
  /** Another handle on the same database, as a second process would have. */
  peer(): Promise<RelationalStore>;
  cleanup(): Promise<void>;
}

const DESIGN_TABLES = [
  'items',
  'users',
  'user_profiles',
  'rt_user_interactions',
  'batch_recommendations',
  'models',
  'batch_runs',
  'recommendation_logs',
  'recommendation_feedback',
  'event_log',
  'event_partitions',
  'event_consumer_offsets',
  'event_group_members',
];

export function relationalContract(name: string, create: () => Promise<RelationalHarness>): void {
  describe(`relational store contract: ${name}`, () => {
    describe('migrations', () => {
      let h: RelationalHarness;
      afterEach(async () => h?.cleanup());

      test('creates every table of the design and records versions; a second run is a no-op', async () => {
        h = await create();
        const files = await loadMigrations();
        const first = await migrate(h.db);
        assert.deepEqual(
          first.applied,
          files.map((f) => f.name),
        );
        const again = await migrate(h.db);
        assert.deepEqual(again.applied, []);
        assert.equal(again.version, files.at(-1)!.version);
        const { rows } = await h.db.query<{ table_name: string }>(
          `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`,
        );
        const tables = new Set(rows.map((r) => r.table_name));
        for (const t of [...DESIGN_TABLES, 'schema_migrations'])
          assert.ok(tables.has(t), `table ${t} exists`);
      });

      test('two migrate() at once apply each file exactly once', async () => {
        h = await create();
        const other = await h.peer();
        try {
          const results = await Promise.all([migrate(h.db), migrate(other), migrate(h.db)]);
          const applied = results.flatMap((r) => r.applied).sort();
          assert.deepEqual(applied, (await loadMigrations()).map((f) => f.name).sort());
          const { rows } = await h.db.query<{ n: number }>('SELECT count(*) AS n FROM schema_migrations');
          assert.equal(rows[0]!.n, applied.length);
        } finally {
          await other.close();
        }
      });
    });

    describe('queries, transactions, bulk insert', () => {
      let h: RelationalHarness;
      let db: RelationalStore;
      before(async () => {
        h = await create();
        db = h.db;
        await migrate(db);
      });
      after(async () => h?.cleanup());

      test('returns the same JS types on every adapter', async () => {
        const { rows } = await db.query<Record<string, unknown>>(
          `SELECT 7::int8 AS i8, 3::int4 AS i4, 1.5::float4 AS f4, 12.25::numeric AS num, true AS b,
                  '\\x00ff'::bytea AS bytes, '2024-01-02T03:04:05Z'::timestamptz AS ts,
                  '{"a":[1,2]}'::jsonb AS j, ARRAY['x','y z']::text[] AS texts, ARRAY[0.5,2]::real[] AS reals,
                  ARRAY[1,2]::int8[] AS i8s, count(*) AS n, '6f1e2a3b-0000-4000-8000-000000000001'::uuid AS id
           FROM items`,
        );
        assert.deepEqual(rows[0], {
          i8: 7,
          i4: 3,
          f4: 1.5,
          num: '12.25',
          b: true,
          bytes: Buffer.from([0, 255]),
          ts: new Date('2024-01-02T03:04:05Z'),
          j: { a: [1, 2] },
          texts: ['x', 'y z'],
          reals: [0.5, 2],
          i8s: [1, 2],
          n: 0,
          id: '6f1e2a3b-0000-4000-8000-000000000001',
        });
      });

      test('parameters of every common type round-trip', async () => {
        const vector = Buffer.from(new Float32Array([0.25, -1, 3.5]).buffer);
        await db.query(
          `INSERT INTO user_profiles (user_id, model_version, vector, n_interactions, updated_at)
           VALUES ($1, $2, $3, $4, $5)`,
          ['u-param', 'v1', vector, 3, new Date('2024-05-06T07:08:09Z')],
        );
        await db.query(
          `INSERT INTO batch_recommendations (user_id, model_version, item_ids, scores) VALUES ($1, $2, $3, $4)`,
          ['u-param', 'v1', ['i1', 'i "2"'], [0.5, 0.25]],
        );
        const p = await db.query<{ vector: Buffer; updated_at: Date }>(
          'SELECT vector, updated_at FROM user_profiles WHERE user_id = $1',
          ['u-param'],
        );
        assert.deepEqual(
          new Float32Array(new Uint8Array(p.rows[0]!.vector).buffer),
          new Float32Array([0.25, -1, 3.5]),
        );
        assert.deepEqual(p.rows[0]!.updated_at, new Date('2024-05-06T07:08:09Z'));
        const r = await db.query('SELECT item_ids, scores FROM batch_recommendations WHERE user_id = $1', [
          'u-param',
        ]);
        assert.deepEqual(r.rows[0], { item_ids: ['i1', 'i "2"'], scores: [0.5, 0.25] });
      });

      test('rowCount counts affected rows', async () => {
        await db.query(`INSERT INTO users (user_id, idx) VALUES ('rc1', 9001), ('rc2', 9002)`);
        const res = await db.query(`UPDATE users SET created_at = now() WHERE user_id IN ('rc1', 'rc2')`);
        assert.equal(res.rowCount, 2);
      });

      test('a transaction commits all its statements', async () => {
        const out = await db.transaction(async (tx) => {
          await tx.query(`INSERT INTO users (user_id, idx) VALUES ('tx1', 101)`);
          await tx.query(`INSERT INTO users (user_id, idx) VALUES ('tx2', 102)`);
          return 'done';
        });
        assert.equal(out, 'done');
        const { rows } = await db.query(
          `SELECT user_id FROM users WHERE user_id LIKE 'tx%' ORDER BY user_id`,
        );
        assert.deepEqual(rows, [{ user_id: 'tx1' }, { user_id: 'tx2' }]);
      });

      test('a transaction rolls back when its function throws, and the error passes through unchanged', async () => {
        const boom = new Error('boom');
        await assert.rejects(
          db.transaction(async (tx) => {
            await tx.query(`INSERT INTO users (user_id, idx) VALUES ('rb1', 201)`);
            throw boom;
          }),
          (err) => err === boom,
        );
        const { rows } = await db.query(`SELECT 1 FROM users WHERE user_id = 'rb1'`);
        assert.equal(rows.length, 0);
      });

      test('a failed statement rolls the transaction back and reports its SQLSTATE', async () => {
        await db.query(`INSERT INTO users (user_id, idx) VALUES ('dup', 301)`);
        await assert.rejects(
          db.transaction(async (tx) => {
            await tx.query(`INSERT INTO users (user_id, idx) VALUES ('rb2', 302)`);
            await tx.query(`INSERT INTO users (user_id, idx) VALUES ('dup', 303)`);
          }),
          (err) =>
            err instanceof QueryError &&
            err.code === '23505' &&
            !err.retriable &&
            err.store === 'relational store',
        );
        const { rows } = await db.query(`SELECT 1 FROM users WHERE user_id = 'rb2'`);
        assert.equal(rows.length, 0);
      });

      test('the store stays usable after a failed transaction', async () => {
        const { rows } = await db.query<{ x: number }>('SELECT 1 AS x');
        assert.equal(rows[0]!.x, 1);
      });

      test('copyRows bulk-inserts many rows with every kind of value', async () => {
        const n = 20_000;
        function* rows() {
          for (let i = 0; i < n; i++) {
            yield [`bulk${i}`, 'v1', Buffer.from(new Float32Array([i, -i]).buffer), i % 7];
          }
        }
        assert.equal(
          await db.copyRows(
            'user_profiles',
            ['user_id', 'model_version', 'vector', 'n_interactions'],
            rows(),
          ),
          n,
        );
        const { rows: c } = await db.query<{ n: number; s: number }>(
          `SELECT count(*) AS n, sum(n_interactions) AS s FROM user_profiles WHERE user_id LIKE 'bulk%'`,
        );
        assert.equal(c[0]!.n, n);
        const one = await db.query<{ vector: Buffer }>(
          `SELECT vector FROM user_profiles WHERE user_id = 'bulk1234'`,
        );
        assert.deepEqual(
          new Float32Array(new Uint8Array(one.rows[0]!.vector).buffer),
          new Float32Array([1234, -1234]),
        );

        const tricky = 'tab\there\nnew line \\ back "quote" ünïcödé 🎬';
        await db.copyRows(
          'items',
          ['item_id', 'idx', 'title', 'category', 'attributes', 'active'],
          [
            ['it1', 1, tricky, null, { genres: ['a', 'b'], note: tricky }, true],
            ['it2', 2, '', 'c', {}, false],
          ],
        );
        await db.copyRows(
          'batch_recommendations',
          ['user_id', 'model_version', 'item_ids', 'scores', 'generated_at'],
          [
            [
              'bulk-u',
              'v1',
              ['a,b', '{c}', tricky, 'NULL', 'e', 'f', 'g'],
              [1, 0.5, -2, 0, 1.25e-7, Number.NaN, Number.POSITIVE_INFINITY],
              new Date('2024-01-01T00:00:00Z'),
            ],
          ],
        );
        const items = await db.query(
          `SELECT item_id, title, category, attributes, active FROM items ORDER BY idx`,
        );
        assert.deepEqual(items.rows, [
          {
            item_id: 'it1',
            title: tricky,
            category: null,
            attributes: { genres: ['a', 'b'], note: tricky },
            active: true,
          },
          { item_id: 'it2', title: '', category: 'c', attributes: {}, active: false },
        ]);
        const recs = await db.query(
          `SELECT item_ids, scores, generated_at FROM batch_recommendations WHERE user_id = 'bulk-u'`,
        );
        assert.deepEqual(recs.rows[0], {
          item_ids: ['a,b', '{c}', tricky, 'NULL', 'e', 'f', 'g'],
          scores: [1, 0.5, -2, 0, 1.25e-7, Number.NaN, Number.POSITIVE_INFINITY],
          generated_at: new Date('2024-01-01T00:00:00Z'),
        });
      });

      test('copyRows is all or nothing', async () => {
        await assert.rejects(
          db.copyRows(
            'users',
            ['user_id', 'idx'],
            [
              ['all1', 401],
              ['all2', 402],
              ['all1', 403],
            ],
          ),
          (err) => err instanceof QueryError && err.code === '23505',
        );
        const { rows } = await db.query(`SELECT 1 FROM users WHERE user_id LIKE 'all%'`);
        assert.equal(rows.length, 0);
      });

      test('copyRows inside a transaction rolls back with it', async () => {
        await assert.rejects(
          db.transaction(async (tx) => {
            assert.equal(await tx.copyRows('users', ['user_id', 'idx'], [['txcopy', 501]]), 1);
            const seen = await tx.query(`SELECT 1 FROM users WHERE user_id = 'txcopy'`);
            assert.equal(seen.rows.length, 1);
            throw new Error('undo');
          }),
          /undo/,
        );
        const { rows } = await db.query(`SELECT 1 FROM users WHERE user_id = 'txcopy'`);
        assert.equal(rows.length, 0);
      });

      test('copyBinary stores uuid, text, real, timestamptz, int and bytea as given; all or nothing', async () => {
        const id = '0190a8b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b';
        const tricky = 'tab\there\nnew line \\ back ünïcödé 🎬';
        const w = new CopyBinaryWriter(64);
        w.row(6)
          .uuid(id)
          .text('bin-u')
          .text(tricky)
          .text('view')
          .float4OrNull(2.5)
          .timestamptz(1_733_000_000_123);
        w.row(6)
          .uuid(id.replace('0190', '0191'))
          .text('bin-u')
          .text('i2')
          .text('rating')
          .float4OrNull(Number.NaN);
        w.timestamptz(Date.UTC(1999, 11, 31, 23, 59, 59, 7));
        await db.copyBinary(
          'rt_user_interactions',
          ['event_id', 'user_id', 'item_id', 'type', 'value', 'ts'],
          w.finish(),
        );
        const { rows } = await db.query(
          `SELECT event_id, item_id, type, value, ts FROM rt_user_interactions WHERE user_id = 'bin-u' ORDER BY ts DESC`,
        );
        assert.deepEqual(rows, [
          { event_id: id, item_id: tricky, type: 'view', value: 2.5, ts: new Date(1_733_000_000_123) },
          {
            event_id: id.replace('0190', '0191'),
            item_id: 'i2',
            type: 'rating',
            value: null,
            ts: new Date(Date.UTC(1999, 11, 31, 23, 59, 59, 7)),
          },
        ]);
        const p = new CopyBinaryWriter();
        p.row(4)
          .text('bin-p')
          .text('v1')
          .bytea(Buffer.from(new Float32Array([1.5, -2]).buffer))
          .int4(-7);
        p.row(4).text('bin-p').text('v1').bytea(Buffer.alloc(0)).int4(1);
        await assert.rejects(
          db.copyBinary(
            'user_profiles',
            ['user_id', 'model_version', 'vector', 'n_interactions'],
            p.finish(),
          ),
          (err) => err instanceof QueryError && err.code === '23505',
        );
        const none = await db.query(`SELECT 1 FROM user_profiles WHERE user_id = 'bin-p'`);
        assert.equal(none.rows.length, 0);
      });

      test('a COPY refused while its data is still coming leaves the connection clean for the next COPY', async () => {
        // The first COPY's rows keep coming after the server refused it (a duplicate key in
        // its first chunk); by then the next COPY runs on the same connection, and none of the
        // late rows may reach it as its own data.
        const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
        async function* late(prefix: string, dupAt: number | null, pauseMs: number) {
          for (let i = 0; i < 4000; i++) yield [`${prefix}${i === dupAt ? 0 : i}`, 20_000 + i];
          await sleep(pauseMs);
          for (let i = 4000; i < 8000; i++) yield [`${prefix}${i}`, 20_000 + i];
        }
        const n = await db.transaction(async (tx) => {
          await tx.exec('SAVEPOINT late');
          await assert.rejects(
            tx.copyRows('users', ['user_id', 'idx'], late('late-a', 1, 600)),
            (err) => err instanceof QueryError && err.code === '23505',
          );
          await tx.exec('ROLLBACK TO SAVEPOINT late');
          assert.equal(await tx.copyRows('users', ['user_id', 'idx'], late('late-b', null, 1200)), 8000);
          return (
            await tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE user_id LIKE 'late-%'`)
          ).rows[0]!.n;
        });
        assert.equal(n, 8000);
      });

      test('a row of the wrong width is refused and nothing is inserted', async () => {
        await assert.rejects(db.copyRows('users', ['user_id', 'idx'], [['w1']]), /2 columns/);
      });
    });

    test('tryLock: one holder of a name across handles; release or the holder closing frees it', async () => {
      const h = await create();
      const other = await h.peer();
      try {
        const held = await h.db.tryLock('recsys-test-lock');
        assert.ok(held, 'a free lock is taken');
        assert.equal(await other.tryLock('recsys-test-lock'), null, 'a second holder is refused, not queued');
        const unrelated = await other.tryLock('recsys-test-other');
        assert.ok(unrelated, 'another name is independent');
        await unrelated.release();
        await held.release();
        await held.release(); // twice is harmless
        const again = await other.tryLock('recsys-test-lock');
        assert.ok(again, 'released: the other handle takes it');
        await again.release();
      } finally {
        await other.close();
        await h.cleanup();
      }
    });

    test('calls after close() fail with StoreClosedError', async () => {
      const h = await create();
      await h.db.close();
      await assert.rejects(h.db.query('SELECT 1'), StoreClosedError);
      await h.cleanup();
    });
  });
}
