/**
 * `npm run bench -- <als|topk|quality|serving|speed|batch|analytics|all> [--quick]`: runs the named benchmarks and
 * rewrites their sections in bench/RESULTS.md (with the command and the machine).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { benchAls } from './als.js';
import { benchAnalytics } from './analytics.js';
import { benchBatch } from './batch.js';
import { repoRoot } from './lib.js';
import { benchQuality } from './quality.js';
import { benchServing } from './serving.js';
import { benchSpeed } from './speed.js';
import { benchTopK } from './topk.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const which = args.filter((a) => !a.startsWith('--'));
const all = which.length === 0 || which.includes('all');
const results = path.join(repoRoot, 'bench/RESULTS.md');

const suites: Record<string, () => Promise<string>> = {
  als: () => benchAls({ quick }),
  topk: () => benchTopK(),
  quality: () => benchQuality(),
  serving: () => benchServing(),
  speed: () => benchSpeed(),
  batch: () => benchBatch({ quick }),
  analytics: () => benchAnalytics(),
};

function replaceSection(doc: string, name: string, body: string): string {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${begin}\n${body}\n${end}`;
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  return i >= 0 && j > i
    ? doc.slice(0, i) + block + doc.slice(j + end.length)
    : `${doc.trimEnd()}\n\n${block}\n`;
}

let doc = existsSync(results) ? readFileSync(results, 'utf8') : '# Benchmark results\n';
for (const [name, run] of Object.entries(suites)) {
  if (!all && !which.includes(name)) continue;
  process.stderr.write(`bench: ${name}\n`);
  const body = await run();
  const stamped = `${body}\nCommand: \`npm run bench -- ${name}${quick ? ' --quick' : ''}\` (${new Date().toISOString().slice(0, 10)}).\n`;
  process.stdout.write(`${stamped}\n`);
  if (!quick) doc = replaceSection(doc, name, stamped);
}
if (!quick) writeFileSync(results, doc);
