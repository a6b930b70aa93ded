// The soak in CI (issue 14, test 1), one minute of it: test/reliability/soak.ts (the same run as
// `npm run soak -- --minutes N`) against serve + stream + scheduler at half the capacity it
// measures, with a scheduled batch run in the middle. It fails on any error other than a
// documented 429, an accepted event lost or stored twice, a process's RSS growing 10 % or more
// after the warm-up, or a batch run that did not succeed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatSoak, runSoak } from '../reliability/soak.js';

describe('soak, one minute', { timeout: 300_000 }, () => {
  it('mixed load at half capacity with a batch run: nothing lost, no errors, memory flat', async (t) => {
    const report = await runSoak({ minutes: 1, log: (l) => t.diagnostic(l) });
    const text = formatSoak(report);
    for (const line of text.trimEnd().split('\n')) t.diagnostic(line);
    assert.deepEqual(report.failures, [], text);
    assert.ok(report.events.accepted.sent > 0, text);
  });
});
