// The soak (issue 14, test 1): serve + stream + scheduler on the real servers, a mixed load
// (reads, event batches, feedback, WebSocket subscribers) at about half the capacity measured
// first, a scheduled batch run in the middle; at the end every accepted event is looked up in
// rt_user_interactions and the archive, and each process's RSS growth after the warm-up and its
// event loop's p99 delay are reported. `npm run soak -- --minutes N` runs it from the command
// line (test/services/soak.test.ts runs a one-minute one in CI).
import { Command } from 'commander';
import { type EndpointResult, runLoad } from '../../src/cli/sim/load.js';
import { delay } from '../stores/support/wait.js';
import { type Audit, drainAndAudit } from './audit.js';
import { API_KEY, openCluster } from './cluster.js';
import { MixedLoad } from './load.js';
import { type ProcessReport, Sampler } from './probes.js';

export interface SoakOptions {
  minutes: number;
  /** Requests per second; absent: half the capacity measured for 5 s first. */
  rps?: number;
  subscribers?: number;
  /** Progress lines go here (stderr on the command line). */
  log?: (line: string) => void;
}

export interface SoakReport {
  minutes: number;
  capacityRps: number | null;
  targetRps: number;
  achievedRps: number;
  requests: number;
  outcomes: Record<string, number>;
  /** Outcomes other than 2xx and the documented 429, by kind. */
  errors: Record<string, number>;
  skipped: number;
  ws: { connects: number; pushes: number; drops: number };
  events: Audit & { sent: number; refused: number; unknown: number; rejected: number };
  batchRun: { status: string; started_at: string | null; model_version: string | null } | null;
  processes: ProcessReport[];
  /** What failed of the soak's checks (empty: passed). */
  failures: string[];
}

/**
 * The RSS growth allowed after the warm-up: 10 % for a soak of 5 minutes or more; a shorter run
 * (CI's minute) is still mostly warm-up (the stream's histories, V8's heap sizing: the 10-minute
 * soak in bench/RESULTS.md levels off after about 2 minutes), so it only catches gross leaks.
 */
export const rssLimit = (seconds: number) => (seconds >= 300 ? 0.1 : 0.5);

/** Where the warm-up ends: a fifth of the run, at least 20 s. */
const warmupOf = (seconds: number) => Math.max(20, seconds / 5);

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? (() => {});
  const seconds = opts.minutes * 60;
  log(`soak: setting up (demo data, import, first batch run)`);
  const cluster = await openCluster({ name: 'soak', users: 500, items: 500 });
  try {
    const [serve] = await Promise.all([cluster.start('serve', 'serve'), cluster.start('stream', 'stream')]);
    const base = serve.url!;
    const popular = (await (await fetch(`${base}/v1/items/popular?k=100`)).json()) as {
      items: Array<{ item_id: string }>;
    };
    const items = popular.items.map((i) => i.item_id);

    let capacity: number | null = null;
    if (opts.rps === undefined) {
      log('soak: measuring capacity for 5 s (autocannon, the same mix)');
      const r = await runLoad(
        {
          base,
          apiKey: API_KEY,
          rps: 100_000,
          durationS: 5,
          readRatio: 0.7,
          connections: 16,
          users: cluster.users,
          items,
          batch: 10,
          k: 10,
          seed: 7,
        },
        () => {},
      );
      const list = Object.values(r).filter((x): x is EndpointResult => x !== null);
      capacity = Math.round(list.reduce((a, x) => a + x.rps, 0));
    }
    const target = opts.rps ?? Math.max(10, Math.round(capacity! / 2));

    // The scheduler's one slot of the run (a daily slot at that second, UTC): a third of the way
    // in, so that the run after it is long enough to tell whether its memory comes back.
    const mid = new Date(Date.now() + 5000 + Math.max(20, seconds * 0.35) * 1000);
    const schedule = `${mid.getUTCSeconds()} ${mid.getUTCMinutes()} ${mid.getUTCHours()} * * *`;
    // A batch run takes every core (its worker pool): sharing the host with serve, stream and the
    // servers, it runs at a lower priority (README, Reliability), as a co-located one should.
    await cluster.start('scheduler', 'scheduler', { env: { RECSYS_BATCH_SCHEDULE: schedule }, nice: 10 });

    log(
      `soak: ${target} req/s for ${opts.minutes} min${capacity ? ` (capacity ${capacity} req/s)` : ''}; batch run at ${mid.toISOString()}`,
    );
    const load = new MixedLoad({
      base,
      rps: target,
      users: cluster.users,
      items,
      subscribers: opts.subscribers ?? 20,
    });
    const sampler = new Sampler(() => cluster.procs());
    sampler.start();
    load.start();
    const t0 = Date.now();
    while (Date.now() - t0 < seconds * 1000) {
      await delay(Math.min(30_000, seconds * 1000 - (Date.now() - t0)));
      const ok = load.readsBySecond.reduce((a, s) => a + s.ok, 0);
      log(
        `soak: ${Math.round((Date.now() - t0) / 1000)} s, ${load.accepted.length} events accepted, ${ok} reads answered`,
      );
      for (const p of cluster.procs())
        if (!p.alive()) throw new Error(`recsys ${p.name} exited during the soak:\n${p.tail()}`);
    }
    const loadReport = await load.stop();
    sampler.stop();
    log('soak: load stopped; waiting for every accepted event to be stored');
    const events = await drainAndAudit(cluster.stores, load);

    // The batch run in the middle: done (or waited for, a little).
    let batchRun: SoakReport['batchRun'] = null;
    let runEnded: Date | null = null;
    for (const until = Date.now() + 120_000; Date.now() < until; await delay(1000)) {
      const { rows } = await cluster.stores.db.query<{
        status: string;
        started_at: Date | null;
        finished_at: Date | null;
        model_version: string | null;
      }>(
        `SELECT status, started_at, finished_at, model_version FROM batch_runs WHERE scheduled_for IS NOT NULL ORDER BY started_at DESC LIMIT 1`,
      );
      const r = rows[0];
      runEnded = r?.finished_at ?? null;
      batchRun = r
        ? {
            status: r.status,
            started_at: r.started_at?.toISOString() ?? null,
            model_version: r.model_version,
          }
        : null;
      // 'queued' comes before 'running': only an end status (succeeded, failed, rejected) ends the wait.
      if (r && r.status !== 'queued' && r.status !== 'running') break;
    }

    const warmup = warmupOf(seconds);
    // The scheduler idles until its run, whose compute workers start with it: its warm-up ends
    // when the run does.
    const schedulerWarm = runEnded ? (runEnded.getTime() - sampler.t0) / 1000 : warmup;
    const processes = sampler.report(
      (name) => (name === 'scheduler' ? schedulerWarm : warmup),
      Math.min(30, Math.max(10, seconds / 10)),
    );
    const errors = Object.fromEntries(
      Object.entries(loadReport.outcomes).filter(([k]) => !/ (2\d\d|429)$/.test(k)),
    );
    const failures: string[] = [];
    if (Object.keys(errors).length) failures.push(`errors other than 2xx/429: ${JSON.stringify(errors)}`);
    if (events.accepted.lost)
      failures.push(`${events.accepted.lost} accepted events lost (${events.firstLost.join(', ')})`);
    if (events.accepted.duplicated + events.others.duplicated)
      failures.push(
        `${events.accepted.duplicated + events.others.duplicated} events stored twice (${events.firstDuplicated.join(', ')})`,
      );
    if (loadReport.events.rejected)
      failures.push(`${loadReport.events.rejected} events rejected (4xx other than 429)`);
    if (batchRun?.status !== 'succeeded')
      failures.push(`the scheduled batch run: ${JSON.stringify(batchRun)}`);
    for (const p of processes)
      if (p.rssGrowth >= rssLimit(seconds))
        failures.push(
          `${p.name}: RSS grew ${(p.rssGrowth * 100).toFixed(1)} % after the warm-up (limit ${rssLimit(seconds) * 100} %)`,
        );
    if (loadReport.ws.drops) failures.push(`${loadReport.ws.drops} WebSocket connections dropped`);
    return {
      minutes: opts.minutes,
      capacityRps: capacity,
      targetRps: target,
      achievedRps: Math.round(loadReport.requests / loadReport.seconds),
      requests: loadReport.requests,
      outcomes: loadReport.outcomes,
      errors,
      skipped: loadReport.skipped,
      ws: loadReport.ws,
      events: { ...loadReport.events, ...events },
      batchRun,
      processes,
      failures,
    };
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${cluster.tails()}`);
  } finally {
    await cluster.close();
  }
}

export function formatSoak(r: SoakReport): string {
  const e = r.events;
  const lines = [
    `soak: ${r.minutes} min at ${r.targetRps} req/s target (${r.capacityRps ? `half of ${r.capacityRps} measured` : 'given'}), ${r.achievedRps} req/s sent, ${r.requests} requests, ${r.skipped} skipped`,
    `events: sent ${e.sent}, accepted ${e.accepted.sent}, stored ${e.accepted.stored} (${e.accepted.inArchive} of them in the archive), lost ${e.accepted.lost}, duplicated ${e.accepted.duplicated}; refused ${e.refused}, unanswered ${e.unknown} (of those stored ${e.others.stored}, twice ${e.others.duplicated}); rejected ${e.rejected}`,
    `errors by kind: ${Object.keys(r.errors).length ? JSON.stringify(r.errors) : 'none'}`,
    `answers: ${JSON.stringify(r.outcomes)}`,
    `websocket: ${r.ws.connects} connects, ${r.ws.pushes} pushes, ${r.ws.drops} drops`,
    `batch run in the middle: ${r.batchRun ? `${r.batchRun.status} at ${r.batchRun.started_at} (${r.batchRun.model_version})` : 'none'}`,
    'process     RSS warm MiB  RSS end MiB  growth   loop p99 median/max ms',
    ...r.processes.map(
      (p) =>
        `${p.name.padEnd(10)}  ${String(p.rssWarmMiB).padStart(12)}  ${String(p.rssEndMiB).padStart(11)}  ${`${(p.rssGrowth * 100).toFixed(1)} %`.padStart(7)}   ${p.lagP99Ms.median ?? 'n/a'}/${p.lagP99Ms.max ?? 'n/a'}`,
    ),
    r.failures.length ? `FAILED:\n  ${r.failures.join('\n  ')}` : 'passed',
  ];
  return `${lines.join('\n')}\n`;
}

// `npm run soak -- --minutes N [--rps R] [--json]`
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  new Command('soak')
    .description('soak recsys serve + stream + scheduler on the services (scripts/services.sh env)')
    .option('--minutes <n>', 'minutes of load', Number, 10)
    .option('--rps <n>', 'requests per second (default: half the measured capacity)', Number)
    .option('--json', 'print the report as JSON')
    .action(async (o: { minutes: number; rps?: number; json?: boolean }) => {
      const r = await runSoak({ minutes: o.minutes, rps: o.rps, log: (l) => process.stderr.write(`${l}\n`) });
      process.stdout.write(o.json ? `${JSON.stringify(r, null, 2)}\n` : formatSoak(r));
      process.exitCode = r.failures.length ? 1 : 0;
    })
    .parseAsync()
    .catch((err: Error) => {
      process.stderr.write(`${err.stack ?? err}\n`);
      process.exit(2);
    });
}
