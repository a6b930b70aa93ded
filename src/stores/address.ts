/** Human-readable server addresses for error messages and logs, never with passwords. */

/** "PostgreSQL at 127.0.0.1:5432/recsys" from postgres://user:secret@127.0.0.1:5432/recsys. */
export function describeUrl(kind: string, url: string): string {
  try {
    const u = new URL(url);
    const path = u.pathname && u.pathname !== '/' ? u.pathname : '';
    return `${kind} at ${u.hostname}${u.port ? `:${u.port}` : ''}${path}`;
  } catch {
    return `${kind} at <unparsable URL>`;
  }
}
