#!/usr/bin/env python3
"""Peer: implicit's CPU ALS (conjugate-gradient solver) on an interchange folder.

  implicit_als.py DIR [--threads N] [--save-factors]

--threads overrides meta.json's threads; meta.json's optional "seed" (default 0) seeds the
initial factors; --save-factors writes the trained factors into DIR as userfactors.f32
(nUsers x factors) and itemfactors.f32 (nItems x factors), little-endian float32, row-major,
so the caller can score them with its own top-K code (bench/quality-implicit.ts).

Prints one JSON line on stdout:
  {"peer":"implicit","version":...,"fit_seconds":...,"seconds_per_iteration":...,"threads":...,...}
Only model.fit() is timed (CSR construction and a tiny warm-up fit are not).
Modes: implicit -> confidence = alpha * value (implicit's convention, no "1 +");
       explicit -> values used as confidences with alpha = 1.
"""

import os

# implicit's solver runs its own OpenMP pool (sized by num_threads); a
# multi-threaded BLAS underneath oversubscribes the cores. This must be set
# BEFORE numpy/scipy are imported. (OMP_NUM_THREADS is left alone: implicit
# passes num_threads to its OpenMP loops explicitly.)
for _v in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

sys.dont_write_bytecode = True  # keep bench/peers free of __pycache__

from _interchange import PeerError, emit, log, quiet_stdout, read_als, run_main  # noqa: E402


def blas_report():
    from threadpoolctl import threadpool_info

    out = []
    for api in threadpool_info():
        if api.get("user_api") == "blas":
            out.append({"internal_api": api.get("internal_api"), "num_threads": api.get("num_threads"),
                        "version": api.get("version"), "prefix": api.get("prefix")})
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("dir")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--save-factors", action="store_true")
    args = ap.parse_args()
    quiet_stdout()

    import numpy as np
    import scipy.sparse as sp

    try:
        import implicit
        from implicit.cpu.als import AlternatingLeastSquares
    except ImportError as e:
        raise PeerError(f"cannot import implicit ({e}); run bench/setup-peers.sh") from None

    meta, users, items, values = read_als(args.dir)
    threads = args.threads if args.threads is not None else meta["threads"]
    if threads < 1:
        raise PeerError("--threads must be >= 1")

    blas = blas_report()
    for b in blas:
        log(f"implicit_als: BLAS {b['internal_api']} {b['version']} threads={b['num_threads']} ({b['prefix']})")
    if any(b["num_threads"] != 1 for b in blas):
        from threadpoolctl import threadpool_limits

        log("implicit_als: WARNING: a BLAS is not single-threaded; limiting it to 1 via threadpoolctl")
        threadpool_limits(1, "blas")
        blas = blas_report()

    implicit_mode = meta["mode"] == "implicit"
    alpha = float(meta["alpha"]) if implicit_mode else 1.0
    seed = meta.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise PeerError(f"meta.json: seed must be an integer >= 0, got {seed!r}")

    def make_model(iterations):
        return AlternatingLeastSquares(
            factors=meta["factors"], iterations=iterations, regularization=float(meta["lambda"]),
            alpha=alpha, use_cg=True, calculate_training_loss=False, random_state=seed,
            num_threads=threads,
        )

    # Untimed warm-up on a tiny matrix: loads the extension modules, spins up the
    # thread pool and touches every code path once.
    rng = np.random.default_rng(0)
    wu = sp.random(200, 100, density=0.05, format="csr", dtype=np.float32, random_state=rng)
    wu.data[:] = 1.0
    make_model(2).fit(wu, show_progress=False)

    n_users, n_items, nnz = meta["nUsers"], meta["nItems"], meta["nnz"]
    user_items = sp.csr_matrix((values, (users, items)), shape=(n_users, n_items), dtype=np.float32)
    user_items.sort_indices()
    if user_items.nnz != nnz:
        raise PeerError(f"duplicate (user, item) pairs: {nnz} entries but {user_items.nnz} distinct")
    del users, items, values

    model = make_model(meta["iterations"])
    t0 = time.perf_counter()
    model.fit(user_items, show_progress=False)  # recent implicit: user_items is users x items
    fit_s = time.perf_counter() - t0

    if model.user_factors.shape != (n_users, meta["factors"]) or model.item_factors.shape != (n_items, meta["factors"]):
        raise PeerError(f"unexpected factor shapes {model.user_factors.shape} / {model.item_factors.shape}")
    if not np.isfinite(model.user_factors).all() or not np.isfinite(model.item_factors).all():
        raise PeerError("fit produced non-finite factors")

    if args.save_factors:
        model.user_factors.astype("<f4").tofile(os.path.join(args.dir, "userfactors.f32"))
        model.item_factors.astype("<f4").tofile(os.path.join(args.dir, "itemfactors.f32"))

    emit({
        "peer": "implicit", "version": implicit.__version__, "fit_seconds": round(fit_s, 6),
        "seconds_per_iteration": round(fit_s / meta["iterations"], 6), "threads": threads,
        "mode": meta["mode"], "nUsers": n_users, "nItems": n_items, "nnz": nnz,
        "factors": meta["factors"], "iterations": meta["iterations"],
        "blas": [{"internal_api": b["internal_api"], "num_threads": b["num_threads"]} for b in blas],
        "loadavg_1m": round(os.getloadavg()[0], 2),
    })


if __name__ == "__main__":
    run_main(main)
