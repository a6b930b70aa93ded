/**
 * What a simulated user likes. The server's catalog is read over HTTP: the category filter of
 * GET /v1/items/popular tells, for each candidate category, which items carry it (the popular
 * list holds the active model's items, up to 100 per category). Each user has two favourite
 * categories, strongest first: by default the ones the demo of `recsys start` planted for that
 * user id (the same seeded generator, run again here), else two of the catalog's drawn at random.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Rng } from '../../compute/random.js';
import { MOVIELENS_GENRES } from '../../data/movielens-items.js';
import { writeDemoMovieLens } from '../../data/synthetic-movielens.js';
import type { ApiClient } from './client.js';

/** The most items the popular endpoint lists for one category (its k is at most 100). */
const PER_CATEGORY = 100;

export interface Catalog {
  /** Category of each item seen in a category list. */
  categoryOf: Map<string, string>;
  /** Items of each category that has some, most popular first. */
  items: Map<string, string[]>;
  /** Every item seen, category or not. */
  all: string[];
}

/**
 * Reads the catalog's categories among `candidates` (default: the MovieLens genres, which the
 * demo and `recsys import movielens` use). An unreachable server or failing request is
 * counted in the client's stats and gives an emptier catalog, never an exception.
 */
export async function readCatalog(
  api: ApiClient,
  candidates: readonly string[] = MOVIELENS_GENRES,
): Promise<Catalog> {
  const categoryOf = new Map<string, string>();
  const items = new Map<string, string[]>();
  const lists = await Promise.all(candidates.map((c) => api.popular(PER_CATEGORY, c)));
  candidates.forEach((c, i) => {
    const ids = lists[i]?.items.map((it) => it.item_id) ?? [];
    if (ids.length === 0) return;
    items.set(c, ids);
    for (const id of ids) categoryOf.set(id, c);
  });
  const all = new Set(categoryOf.keys());
  for (const it of (await api.popular(PER_CATEGORY))?.items ?? []) all.add(it.item_id);
  return { categoryOf, items, all: [...all] };
}

export type TasteSource = 'demo' | 'random';

export interface DemoParams {
  users: number;
  items: number;
  seed: number;
}

/**
 * Favourite categories of users 1..n (index u - 1), each limited to categories the catalog
 * has. `demo`: the demo generator's planted genres for the ids it made, random ones past them
 * or where a planted genre is not in the catalog.
 */
export function tastesFor(
  n: number,
  catalog: Catalog,
  source: TasteSource,
  demo: DemoParams,
  rng: Rng,
): string[][] {
  const known = [...catalog.items.keys()];
  let planted: string[][] = [];
  if (source === 'demo') {
    const dir = mkdtempSync(path.join(tmpdir(), 'recsys-sim-demo-'));
    try {
      planted = writeDemoMovieLens(dir, demo).tastes;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const out: string[][] = [];
  for (let u = 0; u < n; u++) {
    const p = planted[u];
    if (p?.every((c) => catalog.items.has(c))) {
      out.push(p.slice(0, 2));
    } else if (known.length === 0) {
      out.push([]);
    } else {
      const first = known[rng.int(known.length)]!;
      const rest = known.filter((c) => c !== first);
      out.push(rest.length === 0 ? [first] : [first, rest[rng.int(rest.length)]!]);
    }
  }
  return out;
}

/** How much a user with `tastes` likes an item: 1 first favourite, 0.6 second, little else. */
export function preference(tastes: readonly string[], category: string | undefined): number {
  if (category === undefined) return 0.1;
  const i = tastes.indexOf(category);
  return i === 0 ? 1 : i === 1 ? 0.6 : 0.05;
}

/** Chance of clicking a served item the user likes `pref`, at 0-based `position`. */
export function clickProbability(pref: number, position: number): number {
  return (0.6 * pref) / (1 + 0.15 * position);
}
