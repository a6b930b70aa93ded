/**
 * Errors about user-supplied data files.
 *
 * Every loader failure a user can fix by editing their data (a malformed line, a missing
 * column, an empty or missing file) is a DataError, so the CLI can print one clear line —
 * `ratings.csv:17: expected 3+ columns, got 2` — exit non-zero, and leave nothing behind,
 * while genuine bugs still surface as ordinary errors with a stack trace.
 */
export class DataError extends Error {
  /** The path as the caller gave it, so the message points where the user looks. */
  readonly file: string;
  /** 1-based line number in a text file, when the problem is on one line. */
  readonly line: number | undefined;
  /** 1-based row number in a Parquet file (Parquet has no lines). */
  readonly row: number | undefined;
  /** The message without the `file:line:` prefix. */
  readonly detail: string;

  constructor(
    file: string,
    line: number | undefined,
    detail: string,
    opts: { row?: number; cause?: unknown } = {},
  ) {
    const where =
      line !== undefined ? `${file}:${line}` : opts.row !== undefined ? `${file}: row ${opts.row}` : file;
    super(`${where}: ${detail}`, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'DataError';
    this.file = file;
    this.line = line;
    this.row = opts.row;
    this.detail = detail;
  }
}
