// MinIO buckets the service tests make for themselves: emptied and removed afterwards.
import { Client } from 'minio';
import { servers } from './env.js';

export function s3Client(): Client {
  const url = new URL(servers.s3.endpoint);
  return new Client({
    endPoint: url.hostname,
    port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    useSSL: url.protocol === 'https:',
    accessKey: servers.s3.accessKey,
    secretKey: servers.s3.secretKey,
  });
}

/** Deletes every object of `bucket`, then the bucket. */
export async function removeBucket(bucket: string): Promise<void> {
  const s3 = s3Client();
  const names: string[] = [];
  for await (const o of s3.listObjectsV2(bucket, '', true)) if (o.name) names.push(o.name);
  if (names.length > 0) await s3.removeObjects(bucket, names);
  await s3.removeBucket(bucket);
}
