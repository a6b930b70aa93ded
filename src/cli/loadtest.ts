/**
 * `recsys loadtest`: a mixed read/write load at a target rate (sim/load.ts, on autocannon),
 * with a live progress line, then throughput, latency percentiles and failures per endpoint.
 */
import { Command } from 'commander';
import { CliError, numberOption } from './errors.js';
import { ApiClient, RequestStats } from './sim/client.js';
import { liveLine } from './sim/live-line.js';
import { type Endpoint, type EndpointResult, ROUTES, runLoad } from './sim/load.js';

interface LoadtestOpts {
  rps: number;
  duration: number;
  readRatio: number;
  connections: number;
  url: string;
  apiKey?: string;
  users: number;
  batch: number;
  k: number;
  seed: number;
  json?: boolean;
}

export function loadtestCommand(): Command {
  return new Command('loadtest')
    .description(
      'drive a mixed read/write load (recommendations, event batches, feedback on served answers) at a target rate, with autocannon',
    )
    .requiredOption(
      '--rps <r>',
      'target requests per second in all',
      numberOption('rps', { integer: true, min: 1, max: 1_000_000 }),
    )
    .requiredOption('--duration <s>', 'seconds to run', numberOption('duration', { min: 1, max: 86_400 }))
    .option(
      '--read-ratio <f>',
      'share of the requests that are GET /v1/recommendations; of the rest, a third is feedback, the others event batches',
      numberOption('read-ratio', { min: 0, max: 1 }),
      0.8,
    )
    .option(
      '--connections <c>',
      'HTTP connections in all, shared by the endpoints by rate',
      numberOption('connections', { integer: true, min: 1, max: 10_000 }),
      10,
    )
    .option('--url <url>', 'the server', 'http://127.0.0.1:8080')
    .option('--api-key <key>', 'sent as x-api-key (events and feedback need one when the server has keys)')
    .option(
      '--users <n>',
      'user ids to pick from (1..n)',
      numberOption('users', { integer: true, min: 1 }),
      1000,
    )
    .option(
      '--batch <n>',
      'events per POST /v1/events',
      numberOption('batch', { integer: true, min: 1, max: 1000 }),
      10,
    )
    .option('--k <n>', 'items per recommendation', numberOption('k', { integer: true, min: 1, max: 100 }), 10)
    .option(
      '--seed <n>',
      'seed of the users, items and events drawn',
      numberOption('seed', { integer: true, min: 0 }),
      1,
    )
    .option('--json', 'print the results as JSON on stdout')
    .addHelpText(
      'after',
      '\nExit status: 0 when every request was answered with a 2xx; 1 when any got another status, a\n' +
        'connection error or timeout, or was left unanswered by the deadline (duration + max(5 s, half of it)).',
    )
    .action(async (opts: LoadtestOpts) => {
      const base = opts.url.replace(/\/+$/, '');
      const stats = new RequestStats();
      const popular = await new ApiClient(base, opts.apiKey, stats).popular(100);
      if (!popular) throw new CliError(`cannot read items from ${base}: ${stats.recentErrors.at(-1)}`);
      const items = popular.items.map((i) => i.item_id);
      if (items.length === 0 && opts.readRatio < 1)
        throw new CliError(`${base} lists no items (GET /v1/items/popular is empty): no events to send`);
      process.stderr.write(
        `loadtest: ${opts.rps} req/s for ${opts.duration} s against ${base}, read ratio ${opts.readRatio}, ${opts.connections} connections\n`,
      );
      const line = liveLine('loadtest', opts.duration);
      const results = await runLoad(
        {
          base,
          apiKey: opts.apiKey,
          rps: opts.rps,
          durationS: opts.duration,
          readRatio: opts.readRatio,
          connections: opts.connections,
          users: opts.users,
          items,
          batch: opts.batch,
          k: opts.k,
          seed: opts.seed,
        },
        (p) =>
          line.update(
            p.elapsedS,
            (Object.keys(ROUTES) as Endpoint[])
              .map((e) => `${short[e]} ${p.answered[e]}${p.failed[e] ? ` (${p.failed[e]} failed)` : ''}`)
              .join('  '),
          ),
      );
      line.stop();
      const list = Object.values(results).filter((r): r is EndpointResult => r !== null);
      process.stdout.write(
        opts.json ? `${JSON.stringify({ endpoints: list })}\n` : formatResults(list, opts.batch),
      );
      if (list.some((r) => r.non2xx + r.errors + r.unfinished > 0)) process.exitCode = 1;
    });
}

const short: Record<Endpoint, string> = { recommendations: 'recs', events: 'events', feedback: 'feedback' };

export function formatResults(list: EndpointResult[], batch: number): string {
  const head = ['endpoint', 'requests', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'non-2xx', 'errors'];
  const rows = list.map((r) => [
    r.route === ROUTES.events ? `${r.route} (${batch} each)` : r.route,
    String(r.answered),
    r.rps.toFixed(1),
    ...[r.latency_ms.p50, r.latency_ms.p90, r.latency_ms.p99, r.latency_ms.max].map((x) => x.toFixed(1)),
    String(r.non2xx),
    String(r.errors + r.unfinished),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [fmt(head), ...rows.map(fmt)];
  for (const r of list) {
    const bad = Object.entries(r.status).filter(([code]) => !code.startsWith('2'));
    const parts = bad.map(([code, n]) => `${n} × ${code}`);
    if (r.errors) parts.push(`${r.errors} connection errors or timeouts`);
    if (r.unfinished) parts.push(`${r.unfinished} unanswered at the deadline`);
    if (parts.length) out.push(`  ${r.route}: ${parts.join(', ')}`);
  }
  if (!list.some((r) => r.route === ROUTES.feedback) && list.some((r) => r.route === ROUTES.recommendations))
    out.push('  POST /v1/feedback: not run (no answer with items was served to name)');
  return `${out.join('\n')}\n`;
}
