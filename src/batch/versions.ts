/**
 * Model versions kept: after a run, the newest `keep` versions (and the active one, whatever
 * its age) stay — artifact, registry row and precomputed answers, so that activating one of
 * them rolls back at once — and older ones are deleted, answers and row first, artifact last
 * (an artifact without a row is garbage; a row without its artifact would be a broken model).
 */
import type { Stores } from '../stores/index.js';

export async function pruneModels(stores: Pick<Stores, 'db' | 'objects'>, keep: number): Promise<string[]> {
  const { rows } = await stores.db.query<{ version: string; artifact_uri: string | null }>(
    `SELECT version, artifact_uri FROM models
      WHERE status <> 'active'
        AND version NOT IN (SELECT version FROM models ORDER BY created_at DESC, version DESC LIMIT $1)`,
    [keep],
  );
  for (const { version, artifact_uri } of rows) {
    await stores.db.transaction(async (tx) => {
      await tx.query('DELETE FROM batch_recommendations WHERE model_version = $1', [version]);
      await tx.query(`DELETE FROM models WHERE version = $1 AND status <> 'active'`, [version]);
    });
    if (artifact_uri)
      for (const key of await stores.objects.list(artifact_uri)) await stores.objects.delete(key);
  }
  return rows.map((r) => r.version);
}
