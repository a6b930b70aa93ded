/** Object key rules both adapters enforce (S3 allows more; a folder on disk allows less). */
import { StoreError, type StoreErrorContext } from '../errors.js';

/** First path segment the local adapter keeps for its temporary files. */
export const RESERVED_SEGMENT = '.incoming';

export function checkKey(key: string, ctx: StoreErrorContext): void {
  const problem = keyProblem(key);
  if (problem) throw new StoreError(`invalid object key ${JSON.stringify(key)}: ${problem}`, ctx, false);
}

function keyProblem(key: string): string | undefined {
  if (key.length === 0) return 'empty';
  if (Buffer.byteLength(key) > 1024) return 'longer than 1024 bytes';
  if (/[\0\\]/.test(key)) return 'contains NUL or a backslash';
  if (key.startsWith('/') || key.endsWith('/')) return 'starts or ends with "/"';
  const segments = key.split('/');
  if (segments.some((s) => s === '')) return 'has an empty path segment ("//")';
  // ".." would escape the local folder; "." would alias another key there.
  if (segments.some((s) => s === '.' || s === '..')) return 'has a "." or ".." segment';
  if (segments[0] === RESERVED_SEGMENT) return `"${RESERVED_SEGMENT}/" is reserved`;
  return undefined;
}
