// `npm start` on a fresh clone: build whatever is missing (TypeScript, wasm, native) first.
import { execSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const missing = [];
if (!existsSync('dist/src/cli/main.js')) missing.push('build:ts');
if (!existsSync('assembly/build/recsys.wasm')) missing.push('build:wasm');
if (!readdirSync('native').some((f) => f.endsWith('.node'))) missing.push('build:native');
for (const script of missing.reverse()) {
  process.stderr.write(`recsys: running npm run ${script} (first start)\n`);
  execSync(`npm run ${script}`, { stdio: 'inherit' });
}
