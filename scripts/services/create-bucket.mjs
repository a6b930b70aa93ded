#!/usr/bin/env node
// Creates the S3 bucket on a local MinIO (idempotent). Used by scripts/services.sh.
// Env: S3_ENDPOINT (http://127.0.0.1:9000), S3_ACCESS_KEY, S3_SECRET_KEY, S3_BUCKET (recsys),
//      S3_REGION (us-east-1), WAIT_S (30: how long to retry while the server is starting).
import * as Minio from 'minio';

const endpoint = new URL(process.env.S3_ENDPOINT ?? 'http://127.0.0.1:9000');
const bucket = process.env.S3_BUCKET ?? 'recsys';
const region = process.env.S3_REGION ?? 'us-east-1';
const waitMs = Number(process.env.WAIT_S ?? 30) * 1000;

const client = new Minio.Client({
  endPoint: endpoint.hostname,
  port: Number(endpoint.port || (endpoint.protocol === 'https:' ? 443 : 80)),
  useSSL: endpoint.protocol === 'https:',
  accessKey: process.env.S3_ACCESS_KEY ?? 'recsys',
  secretKey: process.env.S3_SECRET_KEY ?? 'recsys-secret',
  region,
});

const deadline = Date.now() + waitMs;
for (;;) {
  try {
    if (await client.bucketExists(bucket)) {
      console.log(`bucket ${bucket}: exists`);
    } else {
      await client.makeBucket(bucket, region);
      console.log(`bucket ${bucket}: created`);
    }
    break;
  } catch (err) {
    if (err?.code === 'BucketAlreadyOwnedByYou') {
      console.log(`bucket ${bucket}: exists`);
      break;
    }
    if (Date.now() > deadline) {
      console.error(`bucket ${bucket}: ${err?.code ?? ''} ${err?.message ?? err}`);
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
