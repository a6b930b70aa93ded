// Grafana's PostgreSQL macros, expanded the way its data source does for a time range, so the
// dashboard's SQL can run on a real PostgreSQL without Grafana. Only the macros the dashboard may
// use are known; any other `$__name(...)` is an error, as Grafana makes it.
//
//   $__timeFilter(col)            col BETWEEN '<from>' AND '<to>'
//   $__timeFrom(), $__timeTo()    '<from>', '<to>'
//   $__timeGroupAlias(col, '1d')  floor(extract(epoch from col)/86400)*86400 AS "time"
//
// Times are RFC 3339 in UTC without trailing zero fractions, as Go's time.RFC3339Nano writes them.

export const ALLOWED_MACROS = ['__timeFilter', '__timeFrom', '__timeTo', '__timeGroupAlias'] as const;

const MACRO = /\$(\w+)\(([^)]*)\)/g;
const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

export function grafanaTime(t: Date): string {
  return t.toISOString().replace(/\.000Z$/, 'Z');
}

function intervalSeconds(arg: string | undefined, macro: string): number {
  const m = /^'?(\d+)([smhdw])'?$/.exec(arg ?? '');
  if (!m) throw new Error(`$${macro}: interval ${arg} is not like '1h'`);
  return Number(m[1]) * UNITS[m[2]]!;
}

export function expandMacros(sql: string, range: { from: Date; to: Date }): string {
  const from = `'${grafanaTime(range.from)}'`;
  const to = `'${grafanaTime(range.to)}'`;
  const out = sql.replace(MACRO, (_all, name: string, rawArgs: string) => {
    const args = rawArgs.split(',').map((a) => a.trim());
    switch (name) {
      case '__timeFilter':
        if (!args[0]) throw new Error('$__timeFilter needs a column');
        return `${args[0]} BETWEEN ${from} AND ${to}`;
      case '__timeFrom':
        return from;
      case '__timeTo':
        return to;
      case '__timeGroupAlias': {
        if (args.length !== 2)
          throw new Error('$__timeGroupAlias needs a column and an interval (no fill mode)');
        const s = intervalSeconds(args[1], name);
        return `floor(extract(epoch from ${args[0]})/${s})*${s} AS "time"`;
      }
      default:
        throw new Error(`macro $${name} is not one the dashboard may use (${ALLOWED_MACROS.join(', ')})`);
    }
  });
  if (out.includes('$')) throw new Error(`unexpanded variable left in: ${out}`);
  return out;
}
