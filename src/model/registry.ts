/**
 * Model registry: artifacts in the object store under models/<version>/, one row per version
 * in `models` (candidate → active → retired). Activation retires the previous active model
 * in the same transaction (a unique index allows one active row) and is announced on the
 * cache's pub/sub so every serving process reloads.
 */
import { MODEL_CHANNEL } from '../events/index.js';
import type { Stores } from '../stores/index.js';
import { AlsModel } from './model.js';

export interface ModelRow {
  version: string;
  algorithm: string;
  params: Record<string, unknown>;
  metrics: Record<string, number>;
  artifact_uri: string;
  status: 'candidate' | 'active' | 'retired';
  created_at: string;
  activated_at: string | null;
}

export class ModelNotFoundError extends Error {
  constructor(readonly version: string) {
    super(`no model with version '${version}'`);
    this.name = 'ModelNotFoundError';
  }
}

type RegistryStores = Pick<Stores, 'db' | 'objects' | 'cache'>;

const prefix = (version: string) => `models/${version}/`;

/** Store the artifact, then record the version (as a candidate, or active at once). */
export async function publishModel(
  stores: RegistryStores,
  model: AlsModel,
  opts: { activate: boolean },
): Promise<void> {
  const { version } = model.meta;
  for (const [name, data] of Object.entries(model.toFiles())) {
    await stores.objects.put(prefix(version) + name, typeof data === 'string' ? Buffer.from(data) : data);
  }
  await stores.db.query(
    `INSERT INTO models (version, algorithm, params, metrics, artifact_uri, status)
     VALUES ($1, $2, $3, $4, $5, 'candidate')`,
    [
      version,
      model.meta.algorithm,
      JSON.stringify(model.meta.params),
      JSON.stringify(model.meta.metrics),
      prefix(version),
    ],
  );
  if (opts.activate) await activateModel(stores, version);
}

export async function activateModel(stores: RegistryStores, version: string): Promise<void> {
  await stores.db.transaction(async (tx) => {
    const found = await tx.query('SELECT 1 FROM models WHERE version = $1', [version]);
    if (found.rowCount === 0) throw new ModelNotFoundError(version);
    await tx.query(`UPDATE models SET status = 'retired' WHERE status = 'active' AND version <> $1`, [
      version,
    ]);
    await tx.query(`UPDATE models SET status = 'active', activated_at = now() WHERE version = $1`, [version]);
  });
  // Other processes reload on this; a lost message only delays them until their next poll.
  await stores.cache.publish(MODEL_CHANNEL, version).catch(() => undefined);
}

export async function listModels(stores: Pick<Stores, 'db'>): Promise<ModelRow[]> {
  const { rows } = await stores.db.query<ModelRow>(
    `SELECT version, algorithm, params, metrics, artifact_uri, status, created_at, activated_at
       FROM models ORDER BY created_at DESC, version DESC`,
  );
  return rows;
}

export async function activeVersion(stores: Pick<Stores, 'db'>): Promise<string | null> {
  const { rows } = await stores.db.query<{ version: string }>(
    `SELECT version FROM models WHERE status = 'active'`,
  );
  return rows[0]?.version ?? null;
}

export async function loadModel(stores: Pick<Stores, 'db' | 'objects'>, version: string): Promise<AlsModel> {
  const { rows } = await stores.db.query<{ artifact_uri: string }>(
    'SELECT artifact_uri FROM models WHERE version = $1',
    [version],
  );
  if (!rows[0]) throw new ModelNotFoundError(version);
  const uri = rows[0].artifact_uri;
  return AlsModel.fromFiles(`${stores.objects.address}/${uri}`, (name) => stores.objects.get(uri + name));
}
