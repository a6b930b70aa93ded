/**
 * The archive readers' Piscina filename: a CommonJS entry for workers/archive-reader.ts, for the
 * reason given in workers/compute-entry.cts (Piscina's require() of an ES module).
 */
import type { DecodedPart } from '../src/batch/archive-part.js' with { 'resolution-mode': 'import' };

// Loaded on the first task (Piscina asks for the handler when the thread starts), so a failed
// import rejects that task instead of an unhandled promise killing the thread.
let reader:
  | Promise<typeof import('./archive-reader.js', { with: { 'resolution-mode': 'import' }})>
  | undefined;

export = async function decode(task: { bytes: Uint8Array; key: string }): Promise<DecodedPart> {
  reader ??= import('./archive-reader.js');
  return (await reader).default(task);
};
