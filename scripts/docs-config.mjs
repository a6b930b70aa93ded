// Rewrites README.md's configuration table from src/config/schema.ts (run through
// `npm run docs:config`, which builds first). With --check, exits 1 when it is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { withConfigTable } from '../dist/src/config/readme-table.js';

const file = new URL('../README.md', import.meta.url);
const before = readFileSync(file, 'utf8');
const after = withConfigTable(before);
if (process.argv.includes('--check')) {
  if (after !== before) {
    process.stderr.write('README.md configuration table is out of date: run `npm run docs:config`\n');
    process.exit(1);
  }
} else if (after !== before) {
  writeFileSync(file, after);
  process.stdout.write('README.md configuration table rewritten\n');
} else {
  process.stdout.write('README.md configuration table is up to date\n');
}
