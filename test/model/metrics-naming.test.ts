// One naming of model metrics for models.metrics, model.json, recsys train --json and the gate.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { modelMetrics } from '../../src/model/evaluate.js';

describe('modelMetrics', () => {
  it('names ranking metrics by their k and keeps the holdout size', () => {
    const m = modelMetrics({
      precision_at_k: 0.25,
      recall_at_k: 0.5,
      ndcg_at_k: 1 / 3,
      map_at_k: 0.125,
      coverage: 0.4,
      k: 5,
      test_interactions: 200,
      test_users: 40,
    });
    assert.deepEqual(m, {
      precision_at_5: 0.25,
      recall_at_5: 0.5,
      ndcg_at_5: 0.333333,
      map_at_5: 0.125,
      coverage: 0.4,
      test_interactions: 200,
      test_users: 40,
    });
  });

  it('rating metrics carry no k', () => {
    assert.deepEqual(modelMetrics({ rmse: 0.91, mae: 0.72, test_interactions: 10 }), {
      rmse: 0.91,
      mae: 0.72,
      test_interactions: 10,
    });
  });
});
