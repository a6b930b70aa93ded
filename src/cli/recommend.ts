/** `recsys recommend`: top-k for one user from a saved model, without retraining. */
import { Command, Option } from 'commander';
import { resolveBackend } from '../compute/backends.js';
import type { BackendName } from '../compute/kernels.js';
import { AlsModel } from '../model/model.js';
import { Scorer } from '../model/scorer.js';
import { CliError, numberOption } from './errors.js';
import { configFrom } from './stores-option.js';

interface RecommendOpts {
  model: string;
  user: string;
  k: number;
  includeSeen?: boolean;
  backend?: BackendName;
  json?: boolean;
}

export function recommendCommand(): Command {
  return new Command('recommend')
    .description('print the top-k items for a user from a saved model')
    .requiredOption('--model <dir>', 'model folder written by `recsys train --out`')
    .requiredOption('--user <id>', 'user id')
    .option('--k <k>', 'how many items', numberOption('k', { integer: true, min: 1, max: 1000 }), 10)
    .option('--include-seen', 'do not skip items the user interacted with in training')
    .addOption(new Option('--backend <name>', 'compute backend').choices(['native', 'wasm', 'js']))
    .option('--json', 'print JSON')
    .action((opts: RecommendOpts) => recommend(opts));
}

async function recommend(opts: RecommendOpts): Promise<void> {
  const config = configFrom({});
  const model = await AlsModel.load(opts.model).catch((err: Error) => {
    throw new CliError(err.message);
  });
  const u = model.userIdx(opts.user);
  if (u === undefined) {
    throw new CliError(
      `unknown user id '${opts.user}' (the model at ${opts.model} knows ${model.userIds.length} users)`,
    );
  }
  const backend = await resolveBackend(opts.backend ?? config.compute.backend);
  const scorer = await Scorer.create(backend, model.scoringItems(), model.itemIds.length, model.scoringDims, {
    maxK: opts.k,
  });
  const top = await scorer.topK(
    model.queryFor(model.userVector(u)),
    opts.k,
    opts.includeSeen ? undefined : () => model.seen(u),
  );
  const items: Array<{ item_id: string; score: number }> = [];
  for (let r = 0; r < opts.k; r++) {
    const i = top.indices[r];
    if (i < 0) break;
    const score = model.meta.params.mode === 'explicit' ? model.predict(u, i) : top.scores[r];
    items.push({ item_id: model.itemIds[i], score: Math.round(score * 1e5) / 1e5 });
  }
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({ user_id: opts.user, model_version: model.meta.version, items })}\n`,
    );
  } else {
    for (const [rank, it] of items.entries())
      process.stdout.write(`${rank + 1}\t${it.item_id}\t${it.score}\n`);
  }
}
