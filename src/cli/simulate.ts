/**
 * `recsys simulate`: simulated users against a running server (sim/simulator.ts), with a live
 * one-line summary and a final one; Ctrl-C (or --duration) stops it cleanly.
 */
import { Command } from 'commander';
import { Rng } from '../compute/random.js';
import { DEMO_DEFAULTS } from '../data/synthetic-movielens.js';
import { CliError, numberOption } from './errors.js';
import { ApiClient, RequestStats } from './sim/client.js';
import { liveLine } from './sim/live-line.js';
import { readCatalog, type TasteSource, tastesFor } from './sim/preferences.js';
import { Simulator, type SimulatorCounts } from './sim/simulator.js';

interface SimulateOpts {
  users: number;
  rate: number;
  duration?: number;
  url: string;
  apiKey?: string;
  seed: number;
  subscribe: number;
  k: number;
  tastes: TasteSource;
  categories?: string;
  demoUsers: number;
  demoItems: number;
  demoSeed: number;
  json?: boolean;
}

export interface SimulateSummary {
  seconds: number;
  users: number;
  categories: number;
  requests: Record<string, number>;
  errors: Record<string, number>;
  recent_errors: string[];
  counts: SimulatorCounts;
  /** Clicks ÷ items served to the simulated users (null before anything was served). */
  ctr: number | null;
}

export function simulateCommand(): Command {
  return new Command('simulate')
    .description(
      'drive simulated users against a running server: recommendations, WebSocket pushes, clicks (feedback) and events',
    )
    .requiredOption(
      '--users <n>',
      'simulated users (ids 1..n)',
      numberOption('users', { integer: true, min: 1, max: 1_000_000 }),
    )
    .requiredOption(
      '--rate <r>',
      'events per second in all',
      numberOption('rate', { min: 0.1, max: 100_000 }),
    )
    .option(
      '--duration <s>',
      'stop after this many seconds (default: until Ctrl-C)',
      numberOption('duration', { min: 0.1 }),
    )
    .option('--url <url>', 'the server', 'http://127.0.0.1:8080')
    .option('--api-key <key>', 'sent as x-api-key (events and feedback need one when the server has keys)')
    .option('--seed <n>', 'seed of every random choice', numberOption('seed', { integer: true, min: 0 }), 1)
    .option(
      '--subscribe <f>',
      'share of the users subscribed on WS /v1/stream',
      numberOption('subscribe', { min: 0, max: 1 }),
      0.2,
    )
    .option('--k <n>', 'items per recommendation', numberOption('k', { integer: true, min: 1, max: 100 }), 10)
    .option(
      '--tastes <source>',
      "users' favourite categories: demo (those the demo of `recsys start` planted, given the same --demo-*), random (two of the catalog's)",
      parseTastes,
      'demo' as TasteSource,
    )
    .option('--categories <list>', 'categories to look for in the catalog (default: the MovieLens genres)')
    .option(
      '--demo-users <n>',
      'users of the demo',
      numberOption('demo-users', { integer: true, min: 1 }),
      DEMO_DEFAULTS.users,
    )
    .option(
      '--demo-items <n>',
      'items of the demo',
      numberOption('demo-items', { integer: true, min: 40 }),
      DEMO_DEFAULTS.items,
    )
    .option(
      '--demo-seed <n>',
      'seed of the demo',
      numberOption('demo-seed', { integer: true, min: 1 }),
      DEMO_DEFAULTS.seed,
    )
    .option('--json', 'print the final summary as JSON on stdout')
    .addHelpText(
      'after',
      '\nExit status: 0 when no request failed, 1 when any did (the summary lists them by route).',
    )
    .action(async (opts: SimulateOpts) => {
      const summary = await simulate(opts);
      process.stdout.write(opts.json ? `${JSON.stringify(summary)}\n` : formatSummary(summary));
      if (Object.keys(summary.errors).length > 0) process.exitCode = 1;
    });
}

function parseTastes(raw: string): TasteSource {
  if (raw !== 'demo' && raw !== 'random')
    throw new CliError(`option --tastes: expected demo or random, got '${raw}'`, 2);
  return raw;
}

async function simulate(opts: SimulateOpts): Promise<SimulateSummary> {
  const base = opts.url.replace(/\/+$/, '');
  const stats = new RequestStats();
  const api = new ApiClient(base, opts.apiKey, stats);
  const candidates = opts.categories
    ?.split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  const catalog = await readCatalog(api, candidates);
  if (catalog.all.length === 0) {
    const why = stats.recentErrors.at(-1);
    throw new CliError(
      why
        ? `cannot read the catalog from ${base}: ${why}`
        : `${base} lists no items (GET /v1/items/popular is empty)`,
    );
  }
  const tastes = tastesFor(
    opts.users,
    catalog,
    opts.tastes,
    { users: opts.demoUsers, items: opts.demoItems, seed: opts.demoSeed },
    new Rng(opts.seed + 1),
  );
  const sim = new Simulator(
    api,
    catalog,
    tastes,
    { users: opts.users, rate: opts.rate, subscribeFraction: opts.subscribe, k: opts.k, seed: opts.seed },
    opts.apiKey,
  );
  process.stderr.write(
    `simulate: ${opts.users} users against ${base}, ${opts.rate} events/s, ${catalog.items.size} categories` +
      ` and ${catalog.all.length} items in the catalog, tastes: ${opts.tastes}\n`,
  );
  const line = liveLine('simulate', opts.duration);
  const summarize = (): SimulateSummary => {
    const c = sim.counts;
    return {
      seconds: sim.elapsedMs / 1000,
      users: opts.users,
      categories: catalog.items.size,
      requests: Object.fromEntries(stats.requests),
      errors: Object.fromEntries(stats.errors),
      recent_errors: [...stats.recentErrors],
      counts: structuredClone(c),
      ctr: c.served === 0 ? null : c.clicks / c.served,
    };
  };
  const redraw = setInterval(() => line.update(sim.elapsedMs / 1000, liveText(summarize())), 200);
  await sim.start();
  await new Promise<void>((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    if (opts.duration !== undefined) setTimeout(done, opts.duration * 1000).unref();
  });
  await sim.stop();
  clearInterval(redraw);
  line.update(sim.elapsedMs / 1000, liveText(summarize()));
  line.stop();
  return summarize();
}

const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);

function liveText(s: SimulateSummary): string {
  const total = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
  return (
    `requests ${total(s.requests)}  events ${s.counts.events}  pushes ${s.counts.pushes}` +
    `  clicks ${s.counts.clicks}  CTR ${pct(s.ctr)}  errors ${total(s.errors)}`
  );
}

export function formatSummary(s: SimulateSummary): string {
  const c = s.counts;
  const rate = (n: number) => (s.seconds > 0 ? (n / s.seconds).toFixed(1) : '0');
  const byType = Object.entries(c.eventsByType)
    .filter(([, n]) => n > 0)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
  const routes = Object.entries(s.requests)
    .map(([r, n]) => `${r} ${n}${s.errors[r] ? ` (${s.errors[r]} failed)` : ''}`)
    .join(', ');
  const errors = Object.values(s.errors).reduce((a, b) => a + b, 0);
  const lines = [
    `simulate: ${s.seconds.toFixed(1)} s, ${s.users} users, ${s.categories} categories`,
    `  requests  ${routes || 'none'}`,
    `  events    ${c.events} accepted (${rate(c.events)}/s)${byType ? `: ${byType}` : ''}`,
    `  answers   ${c.answers} (${c.served} items served), ${c.pushes} of them pushed on WS /v1/stream to ${c.subscribed} subscribed users`,
    `  clicks    ${c.clicks} (CTR ${pct(s.ctr)}, ${c.favouriteClicks} on a favourite category), ${c.feedback} feedback rows accepted`,
    `  errors    ${errors}${
      errors
        ? `: ${Object.entries(s.errors)
            .map(([r, n]) => `${r} ${n}`)
            .join(', ')}`
        : ''
    }`,
    ...s.recent_errors.map((e) => `            ${e}`),
  ];
  return `${lines.join('\n')}\n`;
}
