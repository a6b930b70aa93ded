/**
 * COPY … FROM STDIN for node-postgres without pg-copy-streams: a minimal Submittable that
 * answers the server's CopyInResponse by streaming CopyData chunks, then CopyDone.
 * pg's Client drives it through the same hooks it calls on its own Query objects.
 */
import type { Submittable } from 'pg';

/** The part of pg's internal Connection this uses (see pg/lib/connection.js). */
interface PgConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
  stream: NodeJS.WritableStream & { writableNeedDrain?: boolean };
}

export class CopyFromQuery implements Submittable {
  private rowCount = 0;
  private failed = false;
  private error: unknown;
  private settle!: { resolve: (n: number) => void; reject: (e: unknown) => void };
  readonly done: Promise<number>;

  constructor(
    private readonly text: string,
    private readonly chunks: AsyncIterable<Buffer>,
  ) {
    this.done = new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
  }

  submit(connection: unknown): void {
    (connection as PgConnection).query(this.text);
  }

  handleCopyInResponse(connection: PgConnection): void {
    this.pump(connection).catch((err: unknown) => {
      // Tell the server to abort the COPY; its error reply then ends the query.
      this.error = err;
      connection.sendCopyFail(err instanceof Error ? err.message : String(err));
    });
  }

  private async pump(connection: PgConnection): Promise<void> {
    for await (const chunk of this.chunks) {
      // The server refused the COPY (a unique violation, say) while data was still going out:
      // stop here. A chunk sent later would reach the server as the start of whatever the
      // caller runs next — another COPY on this connection would read it as its own data.
      if (this.failed) return;
      connection.sendCopyFromChunk(chunk);
      if (connection.stream.writableNeedDrain) await drained(connection.stream);
    }
    connection.endCopyFrom();
  }

  handleCommandComplete(msg: { text?: string; command?: string; rowCount?: number }): void {
    // CommandComplete text is "COPY <n>".
    const n = msg.rowCount ?? Number(/\d+$/.exec(msg.text ?? '')?.[0]);
    if (Number.isFinite(n)) this.rowCount = n;
  }

  handleError(err: unknown): void {
    this.failed = true;
    this.settle.reject(this.error ?? err);
  }

  handleReadyForQuery(): void {
    this.settle.resolve(this.rowCount);
  }

  // Messages a COPY FROM never produces; present because the client may call them on any query.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handleCopyData(): void {}
  handlePortalSuspended(): void {}
}

/** Resolves when the socket can take more, or is gone (then the query itself fails). */
function drained(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
