/**
 * Piscina entry point: decodes one archive part for a batch run's read phase (see
 * src/batch/archive-part.ts), so that parts decode on every core while the main thread merges.
 */
import { type DecodedPart, decodeTrainingPart } from '../src/batch/archive-part.js';

export default function decode(task: { bytes: Uint8Array; key: string }): Promise<DecodedPart> {
  return decodeTrainingPart(task.bytes, task.key);
}
