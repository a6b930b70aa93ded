/**
 * rec_ids: UUID v4s generated straight into answer bytes, and where they sit in an answer.
 * Every answer body starts {"rec_id":"<36 characters>", so the cached answers
 * (prepared-answer.ts) and the written ones (answer-writer.ts) put a fresh id at REC_ID_AT,
 * and the answer log copies it from there as bytes.
 */
import { randomFillSync } from 'node:crypto';

/** Where the rec_id's 36 characters start in an answer body. */
export const REC_ID_AT = '{"rec_id":"'.length;
export const REC_ID_LENGTH = 36;

/** Something that can copy the rec_id of the answer it just produced (for the log). */
export interface RecIdSource {
  copyRecId(out: Uint8Array, offset: number): void;
}

const DIGITS = '0123456789abcdef';
/** The two hex digits of each byte value, as character codes. */
const HEX_HI = Uint8Array.from({ length: 256 }, (_, b) => DIGITS.charCodeAt(b >> 4));
const HEX_LO = Uint8Array.from({ length: 256 }, (_, b) => DIGITS.charCodeAt(b & 15));
/** Byte positions of the 16 random bytes' hex pairs within a 36-character UUID. */
const SLOTS = Uint8Array.of(0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34);

/** UUID v4 from a pool of random bytes refilled in bulk (as crypto.randomUUID does). */
export class RecIds {
  private readonly pool = Buffer.alloc(16 * 256);
  private at = this.pool.length;

  /** Writes a fresh UUID v4 (36 ASCII bytes) into `out` at `offset`. */
  writeInto(out: Uint8Array, offset: number): void {
    if (this.at === this.pool.length) {
      randomFillSync(this.pool);
      this.at = 0;
    }
    const p = this.pool;
    const a = this.at;
    this.at += 16;
    for (let i = 0; i < 16; i++) {
      let b = p[a + i];
      if (i === 6)
        b = (b & 0x0f) | 0x40; // version 4
      else if (i === 8) b = (b & 0x3f) | 0x80; // RFC 4122 variant
      out[offset + SLOTS[i]] = HEX_HI[b];
      out[offset + SLOTS[i] + 1] = HEX_LO[b];
    }
  }
}
