// The exactly-once audit of the reliability tests on the embedded stores, with the real archiver:
// a sweep stopped between writing a part and deleting its rows (the state a sweep is in while the
// audit reads) counts each row once; a real second copy, or a missing row, is still caught.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ARCHIVE_PREFIX } from '../../src/data/archive-format.js';
import { silentLogger } from '../../src/logger.js';
import { Archiver } from '../../src/speed/archiver.js';
import { event, insertRows } from '../speed/archiver-contract.js';
import { FaultyDb } from '../speed/faults.js';
import { embeddedStoresForSuite } from '../stores/support/pglite-dir.js';
import { audit, copiesOf } from './audit.js';

// After the rows' ts and their insertion (archiver-contract stores them 10 days before 2026-03-10).
const SWEEP_AT = new Date('2026-06-01T00:00:00Z');

describe('reliability audit', () => {
  const suite = embeddedStoresForSuite('recsys-audit-');

  test('copies: a table row in flight to the part that holds it is one copy; any other place adds one', () => {
    assert.equal(copiesOf(undefined, undefined), 0);
    assert.equal(copiesOf(null, undefined), 1);
    assert.equal(copiesOf('k1', undefined), 1);
    assert.equal(copiesOf('k1', ['k1']), 1);
    assert.equal(copiesOf(null, ['k1']), 2);
    assert.equal(copiesOf('k2', ['k1']), 2);
    assert.equal(copiesOf(undefined, ['k1', 'k2']), 2);
  });

  test('a sweep between writing its part and deleting the rows: every row once; a copied part and a missing row are caught', async () => {
    const old = Date.parse('2026-01-05T10:00:00Z');
    const events = Array.from({ length: 50 }, (_, i) => event(old + i * 1000));
    await insertRows(suite.stores.db, events.slice(0, 40));
    const load = { accepted: events.map((e) => e.event_id), refused: [], unknown: [] };

    const db = new FaultyDb(suite.stores.db);
    db.failNext(/DELETE FROM rt_user_interactions/, 'before');
    const archiver = new Archiver({
      db,
      objects: suite.stores.objects,
      logger: silentLogger,
      retentionHours: 1,
      graceMs: 0,
    });
    await assert.rejects(archiver.runOnce(SWEEP_AT), /injected fault before/);
    const [part] = await suite.stores.objects.list(ARCHIVE_PREFIX);
    assert.ok(part, 'the sweep wrote its part before failing');

    // 40 rows both in the table (claimed under the part's key) and in the part: one copy each.
    let a = await audit(suite.stores, load);
    assert.deepEqual(a.accepted, { sent: 50, stored: 40, lost: 10, duplicated: 0, inArchive: 40 });
    assert.deepEqual(new Set(a.firstLost).size, 5);

    // A second part with the same rows is a real duplicate, whatever the table says.
    await suite.stores.objects.put(part.replace('part-', 'part-copy-'), await suite.stores.objects.get(part));
    a = await audit(suite.stores, load);
    assert.equal(a.accepted.duplicated, 40);
    await suite.stores.objects.delete(part.replace('part-', 'part-copy-'));

    // The sweep finishes: rows only in the part, still once.
    await archiver.runOnce(SWEEP_AT);
    a = await audit(suite.stores, load);
    assert.deepEqual(a.accepted, { sent: 50, stored: 40, lost: 10, duplicated: 0, inArchive: 40 });
  });
});
