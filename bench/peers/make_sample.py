#!/usr/bin/env python3
"""Writes a small random interchange folder for smoke-testing the peer scripts.

Power-law (Zipf-like) user activity and item popularity; every user and every
item gets at least one entry; one entry per (user, item); sorted by user, item.

  make_sample.py als  OUT --users 50000 --items 10000 --nnz 1000000 \
                      [--factors 64 --iterations 3 --threads 1 --mode implicit \
                       --alpha 40 --lambda 0.1 --seed 0]
  make_sample.py topk OUT --queries 10000 --items 100000 [--factors 64 --k 10 \
                       --threads 1 --seed 0]

Only for smoke tests: the real benchmark data is written by the Node side.
"""

import argparse
import json
import os
import sys

import numpy as np


def powerlaw_weights(n, exponent, rng):
    w = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent
    rng.shuffle(w)  # popular ids scattered, not 0..k
    return w / w.sum()


def make_als(a):
    if a.nnz < max(a.users, a.items) or a.nnz > a.users * a.items:
        sys.exit("make_sample: need max(users, items) <= nnz <= users*items")
    rng = np.random.default_rng(a.seed)
    pu = powerlaw_weights(a.users, 0.8, rng)
    pi = powerlaw_weights(a.items, 0.9, rng)
    # Coverage: each user one popular-ish item, each item one random user.
    u0 = np.concatenate([np.arange(a.users), rng.integers(0, a.users, a.items)])
    i0 = np.concatenate([rng.choice(a.items, a.users, p=pi), np.arange(a.items)])
    keys = np.unique(u0.astype(np.int64) * a.items + i0)
    while keys.size < a.nnz:
        need = a.nnz - keys.size
        m = int(need * 1.3) + 1024
        u = rng.choice(a.users, m, p=pu)
        i = rng.choice(a.items, m, p=pi)
        extra = np.setdiff1d(np.unique(u.astype(np.int64) * a.items + i), keys, assume_unique=True)
        if extra.size > need:
            extra = rng.choice(extra, need, replace=False)
        keys = np.union1d(keys, extra)
    users = (keys // a.items).astype("<i4")
    items = (keys % a.items).astype("<i4")
    if a.mode == "implicit":  # interaction counts >= 1 (geometric)
        values = rng.geometric(0.5, keys.size).astype("<f4")
    else:  # star ratings 1..5
        values = rng.integers(1, 6, keys.size).astype("<f4")
    os.makedirs(a.out, exist_ok=True)
    users.tofile(os.path.join(a.out, "users.i32"))
    items.tofile(os.path.join(a.out, "items.i32"))
    values.tofile(os.path.join(a.out, "values.f32"))
    meta = {
        "nUsers": a.users, "nItems": a.items, "nnz": int(keys.size), "factors": a.factors,
        "iterations": a.iterations, "threads": a.threads, "mode": a.mode,
        "alpha": a.alpha, "lambda": a.lam,
    }
    with open(os.path.join(a.out, "meta.json"), "w") as f:
        json.dump(meta, f)
    print(json.dumps(meta))


def make_topk(a):
    rng = np.random.default_rng(a.seed)
    q = (rng.standard_normal((a.queries, a.factors), dtype=np.float32) * 0.1).astype("<f4")
    it = (rng.standard_normal((a.items, a.factors), dtype=np.float32) * 0.1).astype("<f4")
    os.makedirs(a.out, exist_ok=True)
    q.tofile(os.path.join(a.out, "queries.f32"))
    it.tofile(os.path.join(a.out, "itemfactors.f32"))
    meta = {"nQueries": a.queries, "nItems": a.items, "factors": a.factors, "k": a.k,
            "threads": a.threads}
    with open(os.path.join(a.out, "meta.json"), "w") as f:
        json.dump(meta, f)
    print(json.dumps(meta))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="kind", required=True)
    s = sub.add_parser("als")
    s.add_argument("out")
    s.add_argument("--users", type=int, default=50000)
    s.add_argument("--items", type=int, default=10000)
    s.add_argument("--nnz", type=int, default=1000000)
    s.add_argument("--factors", type=int, default=64)
    s.add_argument("--iterations", type=int, default=3)
    s.add_argument("--threads", type=int, default=1)
    s.add_argument("--mode", choices=["implicit", "explicit"], default="implicit")
    s.add_argument("--alpha", type=float, default=40.0)
    s.add_argument("--lambda", dest="lam", type=float, default=0.1)
    s.add_argument("--seed", type=int, default=0)
    t = sub.add_parser("topk")
    t.add_argument("out")
    t.add_argument("--queries", type=int, default=10000)
    t.add_argument("--items", type=int, default=100000)
    t.add_argument("--factors", type=int, default=64)
    t.add_argument("--k", type=int, default=10)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    (make_als if a.kind == "als" else make_topk)(a)


if __name__ == "__main__":
    main()
