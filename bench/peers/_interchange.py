"""Readers for the benchmark interchange format (shared by the peer scripts).

ALS folder:   meta.json {"nUsers","nItems","nnz","factors","iterations","threads",
                         "mode": "implicit"|"explicit","alpha","lambda"}
              users.i32, items.i32 (little-endian int32, dense 0-based),
              values.f32 (little-endian float32), COO with one entry per (user, item).
              Optional: "seed" in meta.json (initial factors); a peer asked to save its
              factors writes userfactors.f32 (nUsers x factors) and itemfactors.f32
              (nItems x factors) into the folder, little-endian float32, row-major.
Top-K folder: meta.json {"nQueries","nItems","factors","k","threads"}
              queries.f32 (nQueries x factors), itemfactors.f32 (nItems x factors),
              little-endian float32, row-major.

Only the standard library is imported at module level so that callers can set
BLAS/OpenMP environment variables before numpy is first imported.
"""

import json
import os
import sys


class PeerError(Exception):
    """An error with a message meant for the user (printed without a traceback)."""


# The real stdout, kept for the single JSON result line. fd 1 itself is pointed
# at stderr by quiet_stdout() so that chatter from native code or a child JVM
# sharing our stdout cannot corrupt the one-line result.
_result_fd = None


def quiet_stdout():
    global _result_fd
    if _result_fd is None:
        sys.stdout.flush()
        _result_fd = os.dup(1)
        os.dup2(2, 1)


def emit(result):
    line = (json.dumps(result, separators=(",", ":")) + "\n").encode()
    sys.stdout.flush()
    if _result_fd is None:
        os.write(1, line)
    else:
        os.write(_result_fd, line)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run_main(main):
    """Run main(); print 'peer error: ...' on stderr and exit non-zero on failure."""
    try:
        main()
    except PeerError as e:
        log(f"{os.path.basename(sys.argv[0])}: error: {e}")
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:  # unexpected: keep the traceback for debugging
        import traceback

        traceback.print_exc()
        log(f"{os.path.basename(sys.argv[0])}: error: {type(e).__name__}: {e}")
        sys.exit(1)


def _read_meta(folder, required):
    if not os.path.isdir(folder):
        raise PeerError(f"not a directory: {folder}")
    path = os.path.join(folder, "meta.json")
    try:
        with open(path) as f:
            meta = json.load(f)
    except FileNotFoundError:
        raise PeerError(f"missing {path}") from None
    except json.JSONDecodeError as e:
        raise PeerError(f"bad JSON in {path}: {e}") from None
    missing = [k for k in required if k not in meta]
    if missing:
        raise PeerError(f"{path} lacks keys: {', '.join(missing)}")
    return meta


def _int(meta, key, minimum=0):
    v = meta[key]
    if not isinstance(v, int) or isinstance(v, bool) or v < minimum:
        raise PeerError(f"meta.json: {key} must be an integer >= {minimum}, got {v!r}")
    return v


def _num(meta, key):
    v = meta[key]
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        raise PeerError(f"meta.json: {key} must be a number, got {v!r}")
    return float(v)


def _load(folder, name, dtype, count):
    import numpy as np

    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        raise PeerError(f"missing {path}")
    itemsize = np.dtype(dtype).itemsize
    size = os.path.getsize(path)
    if size != count * itemsize:
        raise PeerError(
            f"{path}: expected {count} x {itemsize} = {count * itemsize} bytes, found {size}"
        )
    return np.fromfile(path, dtype=dtype, count=count)


def read_als(folder, need_arrays=True):
    """Returns (meta, users, items, values); arrays are numpy (int32, int32, float32)."""
    meta = _read_meta(
        folder,
        ["nUsers", "nItems", "nnz", "factors", "iterations", "threads", "mode", "alpha", "lambda"],
    )
    n_users = _int(meta, "nUsers", 1)
    n_items = _int(meta, "nItems", 1)
    nnz = _int(meta, "nnz", 1)
    _int(meta, "factors", 1)
    _int(meta, "iterations", 1)
    _int(meta, "threads", 1)
    _num(meta, "alpha")
    _num(meta, "lambda")
    if meta["mode"] not in ("implicit", "explicit"):
        raise PeerError(f"meta.json: mode must be 'implicit' or 'explicit', got {meta['mode']!r}")
    if not need_arrays:
        return meta, None, None, None
    users = _load(folder, "users.i32", "<i4", nnz)
    items = _load(folder, "items.i32", "<i4", nnz)
    values = _load(folder, "values.f32", "<f4", nnz)
    if users.min() < 0 or users.max() >= n_users:
        raise PeerError(f"users.i32 has ids outside [0, {n_users})")
    if items.min() < 0 or items.max() >= n_items:
        raise PeerError(f"items.i32 has ids outside [0, {n_items})")
    return meta, users, items, values


def read_topk(folder):
    """Returns (meta, queries (nQ x f float32), itemfactors (nI x f float32)), C-contiguous."""
    meta = _read_meta(folder, ["nQueries", "nItems", "factors", "k", "threads"])
    nq = _int(meta, "nQueries", 1)
    ni = _int(meta, "nItems", 1)
    f = _int(meta, "factors", 1)
    k = _int(meta, "k", 1)
    _int(meta, "threads", 1)
    if k > ni:
        raise PeerError(f"meta.json: k={k} exceeds nItems={ni}")
    q = _load(folder, "queries.f32", "<f4", nq * f).reshape(nq, f)
    it = _load(folder, "itemfactors.f32", "<f4", ni * f).reshape(ni, f)
    return meta, q, it
