/**
 * `recsys import movielens DIR | csv FILE | parquet FILE`: interactions into the archive of the
 * configured stores (embedded by default, RECSYS_MODE=services for PostgreSQL and MinIO), ids
 * into users/items, titles and categories into items where the files have them. A second
 * import of the same file changes nothing (src/batch/import.ts). A progress bar on a terminal;
 * a summary on stdout, or with --json one JSON line (the ImportSummary).
 */
import cliProgress from 'cli-progress';
import { Command, Option } from 'commander';
import { type ImportProgress, type ImportSource, type ImportSummary, runImport } from '../batch/import.js';
import { csvSource, type TableOptions } from '../batch/import-csv.js';
import { movieLensSource } from '../batch/import-movielens.js';
import { parquetSource } from '../batch/import-parquet.js';
import { EVENT_TYPES, type EventType } from '../events/index.js';
import { configFrom, openFrom, type StoreOpts, withStoreOptions } from './stores-option.js';

interface ImportOpts extends StoreOpts {
  skipInvalid?: boolean;
  json?: boolean;
}

interface TableOpts extends ImportOpts {
  items?: string;
  type?: EventType;
  tsUnit: 'ms' | 's';
}

export function importCommand(): Command {
  return new Command('import')
    .description('load interactions (and items) from files into the archive, once per file')
    .addCommand(
      withImportOptions(
        new Command('movielens')
          .description('a MovieLens 100K folder: u.data ratings, u.item titles and genres')
          .argument('<dir>', 'the folder holding u.data and u.item'),
      ).action((dir: string, opts: ImportOpts) => importFrom(() => movieLensSource(dir), opts)),
    )
    .addCommand(
      withTableOptions(
        new Command('csv')
          .description('a CSV file with a header: user_id, item_id[, type, value, ts, event_id]')
          .argument('<file>', 'the CSV file'),
      ).action((file: string, opts: TableOpts) =>
        importFrom(async () => csvSource(file, tableOptions(opts)), opts),
      ),
    )
    .addCommand(
      withTableOptions(
        new Command('parquet')
          .description('a Parquet file: the archive schema, or user/item[/type/value/ts/event_id] columns')
          .argument('<file>', 'the Parquet file'),
      ).action((file: string, opts: TableOpts) =>
        importFrom(async () => parquetSource(file, tableOptions(opts)), opts),
      ),
    );
}

function withImportOptions(cmd: Command): Command {
  return withStoreOptions(cmd)
    .option('--skip-invalid', 'import the valid rows and report the others (default: refuse the file)')
    .option('--json', 'print the summary as one JSON line');
}

function withTableOptions(cmd: Command): Command {
  return withImportOptions(cmd)
    .option('--items <file>', 'a catalog CSV: item_id, title, category')
    .addOption(
      new Option(
        '--type <type>',
        'type of rows without one (default: rating with a value, view without)',
      ).choices(EVENT_TYPES),
    )
    .addOption(
      new Option('--ts-unit <unit>', 'what a numeric ts counts: epoch milliseconds or seconds')
        .choices(['ms', 's'])
        .default('ms'),
    );
}

const tableOptions = (opts: TableOpts): TableOptions => ({
  items: opts.items,
  type: opts.type,
  tsUnit: opts.tsUnit,
});

async function importFrom(source: () => Promise<ImportSource>, opts: ImportOpts): Promise<void> {
  const config = configFrom(opts);
  const src = await source(); // a missing folder fails before any store is opened
  const stores = await openFrom(config);
  const bar = progressBar();
  let summary: ImportSummary;
  try {
    summary = await runImport(stores, src, { skipInvalid: opts.skipInvalid, onProgress: bar.update });
  } finally {
    bar.stop();
    await stores.close();
  }
  if (opts.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else process.stdout.write(describe(summary, stores.objects.address));
  for (const w of summary.warnings) process.stderr.write(`warning: ${w}\n`);
}

/** A bar per phase on a terminal (stderr), nothing elsewhere. */
function progressBar(): { update: (p: ImportProgress) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  let bar: cliProgress.SingleBar | null = null;
  let phase = '';
  const stop = () => {
    bar?.stop();
    bar = null;
  };
  return {
    update(p) {
      if (p.phase !== phase) {
        stop();
        phase = p.phase;
        bar = new cliProgress.SingleBar(
          {
            format: `${p.phase === 'read' ? 'reading' : 'writing'} {bar} {percentage}% | {done}/{all} ${p.unit}`,
            stream: process.stderr,
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(p.total, 0, { done: 0, all: count(p.total, p.unit) });
      }
      bar?.update(p.done, { done: count(p.done, p.unit), all: count(p.total, p.unit) });
    },
    stop,
  };
}

const count = (n: number, unit: ImportProgress['unit']) =>
  unit === 'bytes' ? `${(n / (1 << 20)).toFixed(1)}M` : n.toLocaleString('en-US');

function describe(s: ImportSummary, where: string): string {
  if (s.already_imported) {
    const items = s.new_items > 0 ? `; ${s.new_items} new items from the catalog` : '';
    return `${s.file}: already imported (${s.rows} rows, marker ${s.marker}); nothing changed${items}\n`;
  }
  const range = s.first_day === null ? '' : ` (${s.first_day} to ${s.last_day})`;
  const lines = [
    `imported ${s.rows} row${s.rows === 1 ? '' : 's'} from ${s.files} file${s.files === 1 ? '' : 's'} into ${where}`,
    `  archive parts   ${s.parts} over ${s.days} day${s.days === 1 ? '' : 's'}${range}`,
    `  users           ${s.users} (${s.new_users} new)`,
    `  items           ${s.items} (${s.new_items} new)`,
    `  skipped rows    ${s.skipped_rows}`,
  ];
  if (s.ignored_columns.length > 0) lines.push(`  ignored columns ${s.ignored_columns.join(', ')}`);
  for (const r of s.refused) lines.push(`  skipped: ${r}`);
  if (s.skipped_rows > s.refused.length)
    lines.push(`  skipped: … and ${s.skipped_rows - s.refused.length} more`);
  return `${lines.join('\n')}\n`;
}
