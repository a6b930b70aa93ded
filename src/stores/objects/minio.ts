/** Object store in an S3 bucket through the minio client (services mode; MinIO or any S3). */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { Client } from 'minio';
import {
  isNetworkError,
  messageOf,
  NotFoundError,
  StoreClosedError,
  StoreConfigError,
  StoreError,
  type StoreErrorContext,
  StoreUnavailableError,
} from '../errors.js';
import { withTimeout } from '../timeout.js';
import { checkKey } from './keys.js';
import { cutParts } from './parts.js';
import type { ObjectStore } from './port.js';

export interface MinioObjectsOptions {
  /** http(s)://host:port */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  /** Create the bucket when missing (default true). */
  createBucket?: boolean;
  connectTimeoutMs?: number;
  /** A request whose socket stays silent this long fails instead of hanging. */
  idleTimeoutMs?: number;
  /** Objects larger than this go up in parts of this size (default 64 MiB; S3's minimum is 5 MiB). */
  partSize?: number;
}

const MIN_PART_SIZE = 5 * 1024 * 1024;
const DEFAULT_PART_SIZE = 64 * 1024 * 1024;

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound']);
const MISCONFIGURED = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'NoSuchBucket',
  'InvalidBucketName',
]);

const BUSY = new Set(['InternalError', 'SlowDown', 'ServiceUnavailable', 'RequestTimeout']);

/** The port plus what tests of this adapter check (multipart uploads show in the ETag). */
export interface MinioObjectStore extends ObjectStore {
  etag(key: string): Promise<string>;
}

export async function openMinioObjects(opts: MinioObjectsOptions): Promise<MinioObjectStore> {
  const store = new MinioObjects(opts);
  await store.ensureBucket(opts.createBucket ?? true, opts.connectTimeoutMs ?? 5000);
  return store;
}

class MinioObjects implements MinioObjectStore {
  readonly address: string;
  private readonly client: Client;
  private readonly bucket: string;
  private readonly partSize: number;
  private closed = false;

  constructor(opts: MinioObjectsOptions) {
    const url = new URL(opts.endpoint);
    const useSSL = url.protocol === 'https:';
    this.bucket = opts.bucket;
    this.partSize = opts.partSize ?? DEFAULT_PART_SIZE;
    if (this.partSize < MIN_PART_SIZE)
      throw new TypeError(`partSize must be at least ${MIN_PART_SIZE} bytes (S3's minimum)`);
    this.address = `S3 at ${url.host} bucket ${opts.bucket}`;
    const idle = opts.idleTimeoutMs ?? 30_000;
    this.client = new Client({
      endPoint: url.hostname,
      port: url.port ? Number(url.port) : useSSL ? 443 : 80,
      useSSL,
      accessKey: opts.accessKey,
      secretKey: opts.secretKey,
      pathStyle: true,
      retryOptions: { maximumRetryCount: 1, baseDelayMs: 100, maximumDelayMs: 1000 },
      transport: timedTransport(useSSL ? https : http, idle),
    });
  }

  private ctx(cause?: unknown): StoreErrorContext {
    return { store: 'object store', address: this.address, cause };
  }

  private wrap(err: unknown, key?: string): StoreError {
    if (err instanceof StoreError) return err;
    const code = (err as { code?: string }).code;
    if (key !== undefined && code && NOT_FOUND.has(code)) return new NotFoundError(key, this.ctx(err));
    if (code && MISCONFIGURED.has(code))
      return new StoreConfigError(`${code}: ${messageOf(err)}`, this.ctx(err));
    if (isNetworkError(err) || /timed out|socket hang up/i.test(messageOf(err))) {
      return new StoreUnavailableError(messageOf(err), this.ctx(err));
    }
    if (code && BUSY.has(code)) return new StoreUnavailableError(`${code}: ${messageOf(err)}`, this.ctx(err));
    return new StoreError(messageOf(err), this.ctx(err), false);
  }

  private async run<T>(op: () => Promise<T>, key?: string): Promise<T> {
    if (this.closed) throw new StoreClosedError(this.ctx());
    if (key !== undefined) checkKey(key, this.ctx());
    try {
      return await op();
    } catch (err) {
      throw this.wrap(err, key);
    }
  }

  async ensureBucket(create: boolean, timeoutMs: number): Promise<void> {
    await this.run(() =>
      withTimeout(
        (async () => {
          if (await this.client.bucketExists(this.bucket)) return;
          if (!create) throw new StoreConfigError(`bucket ${this.bucket} does not exist`, this.ctx());
          await this.client.makeBucket(this.bucket);
        })(),
        timeoutMs,
        () => new StoreUnavailableError(`no answer within ${timeoutMs} ms`, this.ctx()),
      ),
    );
  }

  put(key: string, data: Buffer | Uint8Array | Readable): Promise<void> {
    return this.run(async () => {
      const body = data instanceof Uint8Array && !Buffer.isBuffer(data) ? Buffer.from(data) : data;
      const parts = cutParts(body as Buffer | Readable, this.partSize)[Symbol.asyncIterator]();
      const first = await parts.next();
      const second = first.done ? first : await parts.next();
      if (second.done) {
        // Up to one part: a single PUT.
        await this.client.putObject(this.bucket, key, first.done ? Buffer.alloc(0) : first.value);
        return;
      }
      await this.multipart(key, [first.value, second.value], parts);
    }, key);
  }

  /** Multipart upload, one part in flight; aborted on failure so no orphaned parts stay behind. */
  private async multipart(key: string, head: Buffer[], rest: AsyncIterator<Buffer>): Promise<void> {
    const uploadID = await this.client.initiateNewMultipartUpload(this.bucket, key, {});
    try {
      const etags: { part: number; etag: string }[] = [];
      const send = async (part: Buffer) => {
        const partNumber = etags.length + 1;
        const headers = {
          'Content-Length': part.length,
          'Content-MD5': createHash('md5').update(part).digest('base64'),
        };
        const res = await this.client.uploadPart(
          { bucketName: this.bucket, objectName: key, uploadID, partNumber, headers },
          part,
        );
        etags.push({ part: partNumber, etag: res.etag });
      };
      for (const part of head) await send(part);
      for (let next = await rest.next(); !next.done; next = await rest.next()) await send(next.value);
      await this.client.completeMultipartUpload(this.bucket, key, uploadID, etags);
    } catch (err) {
      await this.client.abortMultipartUpload(this.bucket, key, uploadID).catch(() => {});
      throw err;
    }
  }

  get(key: string): Promise<Buffer> {
    return this.run(async () => {
      const stream = await this.client.getObject(this.bucket, key);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    }, key);
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.run(() => this.client.statObject(this.bucket, key), key);
      return true;
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }

  list(prefix = ''): Promise<string[]> {
    return this.run(async () => {
      const keys: string[] = [];
      for await (const item of this.client.listObjectsV2(this.bucket, prefix, true)) {
        if (item.name) keys.push(item.name);
      }
      return keys.sort();
    });
  }

  delete(key: string): Promise<void> {
    return this.run(() => this.client.removeObject(this.bucket, key), key);
  }

  /** The ETag S3 reports (multipart uploads end in "-<parts>"); used by tests. */
  etag(key: string): Promise<string> {
    return this.run(async () => (await this.client.statObject(this.bucket, key)).etag, key);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/** minio's requests have no timeout of their own; a socket idle this long is destroyed with an error. */
function timedTransport(mod: typeof http | typeof https, idleMs: number) {
  return {
    request(
      options: http.RequestOptions,
      callback?: (res: http.IncomingMessage) => void,
    ): http.ClientRequest {
      const req = mod.request({ ...options, timeout: idleMs }, callback);
      req.on('timeout', () => req.destroy(new Error(`request timed out after ${idleMs} ms idle`)));
      return req;
    },
  } as unknown as typeof http;
}
