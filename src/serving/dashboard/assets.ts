/**
 * What /dashboard/assets/:name serves, read once at start: uPlot's script and style from the
 * installed package (resolved the way Node resolves the dependency, so the copy in
 * node_modules is the one served: no CDN, works offline), and the page's own modules, the
 * compiled files of client/ beside this one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  body: Buffer;
  contentType: string;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
// Source maps point into src/, which is not served: the browser would only ask for them and miss.
const SOURCE_MAP = /\n\/\/# sourceMappingURL=\S+\s*$/;

/** name → asset, for every file the page loads. Throws when uPlot is not installed. */
export function loadDashboardAssets(): Map<string, Asset> {
  const require = createRequire(import.meta.url);
  const assets = new Map<string, Asset>([
    [
      'uplot.min.js',
      { body: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js')), contentType: JS },
    ],
    ['uplot.min.css', { body: readFileSync(require.resolve('uplot/dist/uPlot.min.css')), contentType: CSS }],
  ]);
  const client = path.join(path.dirname(fileURLToPath(import.meta.url)), 'client');
  for (const file of readdirSync(client)) {
    if (!file.endsWith('.js')) continue;
    const text = readFileSync(path.join(client, file), 'utf8').replace(SOURCE_MAP, '\n');
    assets.set(file, { body: Buffer.from(text), contentType: JS });
  }
  return assets;
}
