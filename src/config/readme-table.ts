/**
 * The README's configuration table, generated from the schema so it cannot drift:
 * `npm run docs:config` rewrites it between the marker comments, and a test fails when the
 * README's copy differs.
 */
import { CONFIG_FILE_ENV } from './load.js';
import { SCHEMA } from './schema.js';
import { flatten, isDerived, type Setting } from './setting.js';

export const TABLE_START =
  '<!-- config-table:start (generated from src/config/schema.ts by `npm run docs:config`) -->';
export const TABLE_END = '<!-- config-table:end -->';

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (s: string) => `\`${s}\``;
const row = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;

function defaultOf(s: Setting): string {
  const d = s.default;
  if (d === null) return '—';
  if (isDerived(d)) return d.label;
  const shown = s.kind.show ? s.kind.show(d) : typeof d === 'string' ? d : JSON.stringify(d);
  return shown === '' ? '—' : code(shown);
}

/** The table: one row per setting, in schema order, after the config file's own variable. */
export function configTable(): string {
  const rows = [
    row(['environment', 'file key', 'type', 'default', 'description']),
    '|---|---|---|---|---|',
    row([
      code(CONFIG_FILE_ENV),
      '—',
      'path',
      '—',
      'JSON file holding any of the file keys below, nested (`{"serving": {"rateLimit": 50}}`); `--config` overrides it',
    ]),
    ...flatten(SCHEMA).map(({ key, setting: s }) =>
      row([
        code(s.env),
        code(key),
        s.kind.type,
        defaultOf(s),
        `${s.description}${s.servicesOnly ? '; required in services mode' : ''}`,
      ]),
    ),
  ];
  return rows.join('\n');
}

/** `readme` with the text between the markers replaced by the generated table. */
export function withConfigTable(readme: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`README has no ${TABLE_START} … ${TABLE_END} markers`);
  return `${readme.slice(0, start + TABLE_START.length)}\n${configTable()}\n${readme.slice(end)}`;
}
