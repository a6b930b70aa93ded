#!/usr/bin/env python3
"""Peer: exact maximum-inner-product top-K with faiss.IndexFlatIP.

  faiss_topk.py DIR [--threads N] [--repeats 3]

Prints one JSON line on stdout:
  {"peer":"faiss","version":...,"seconds":...,"queries_per_second":...,"threads":...,...}
seconds = best of --repeats timed index.search(queries, k) calls after one
untimed warm-up search. Index construction (add) is not timed.
faiss computes the scores with BLAS sgemm for batches of >= 20 queries, so both
faiss's OpenMP pool and the BLAS pool are limited to `threads` (threadpoolctl).
"""

import argparse
import os
import sys
import time

sys.dont_write_bytecode = True  # keep bench/peers free of __pycache__

from _interchange import PeerError, emit, log, quiet_stdout, read_topk, run_main


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("dir")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    quiet_stdout()

    # Read meta first (stdlib only) so thread env vars can be set before numpy/faiss load.
    import json

    try:
        with open(os.path.join(args.dir, "meta.json")) as f:
            pre = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise PeerError(f"cannot read {os.path.join(args.dir, 'meta.json')}: {e}") from None
    threads = args.threads if args.threads is not None else pre.get("threads")
    if not isinstance(threads, int) or threads < 1:
        raise PeerError(f"threads must be an integer >= 1, got {threads!r}")
    if args.repeats < 1:
        raise PeerError("--repeats must be >= 1")
    for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[v] = str(threads)

    import numpy as np

    try:
        import faiss
    except ImportError as e:
        raise PeerError(f"cannot import faiss ({e}); run bench/setup-peers.sh") from None
    from threadpoolctl import threadpool_info, threadpool_limits

    meta, queries, itemfactors = read_topk(args.dir)
    k = meta["k"]
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    itemfactors = np.ascontiguousarray(itemfactors, dtype=np.float32)

    faiss.omp_set_num_threads(threads)
    threadpool_limits(threads)
    pools = [{"user_api": a.get("user_api"), "internal_api": a.get("internal_api"),
              "num_threads": a.get("num_threads"), "prefix": a.get("prefix")}
             for a in threadpool_info()]
    for p in pools:
        log(f"faiss_topk: {p['user_api']} {p['internal_api']} threads={p['num_threads']} ({p['prefix']})")

    index = faiss.IndexFlatIP(meta["factors"])
    index.add(itemfactors)

    D, I = index.search(queries, k)  # warm-up (untimed)
    best = float("inf")
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        D, I = index.search(queries, k)
        best = min(best, time.perf_counter() - t0)

    # Sanity check (untimed): first query against numpy.
    ref = itemfactors @ queries[0]
    top = np.sort(ref)[::-1][:k]
    if I.shape != (meta["nQueries"], k) or not np.allclose(np.sort(D[0])[::-1], top, rtol=1e-4, atol=1e-5):
        raise PeerError("faiss results disagree with a numpy check on query 0")

    emit({
        "peer": "faiss", "version": faiss.__version__, "seconds": round(best, 6),
        "queries_per_second": round(meta["nQueries"] / best, 1), "threads": threads,
        "nQueries": meta["nQueries"], "nItems": meta["nItems"], "factors": meta["factors"], "k": k,
        "repeats": args.repeats,
        "pools": [{"user_api": p["user_api"], "internal_api": p["internal_api"],
                   "num_threads": p["num_threads"]} for p in pools],
        "loadavg_1m": round(os.getloadavg()[0], 2),
    })


if __name__ == "__main__":
    run_main(main)
