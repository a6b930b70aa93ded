#!/usr/bin/env bash
# A Python virtualenv with the real Parquet readers (pyarrow, DuckDB) that the services suite opens
# the interaction archive with (test/services/archive-readers.test.ts): the files must open in them
# as they are. Test-only; the app never runs Python.
#
#   bash scripts/python-readers.sh        create or update ${RECSYS_PYREADERS:-<repo>/.services/pyreaders}
#
# Idempotent: a stamp holding the requirement list is written after a successful install; when it
# matches, pip is skipped. Env: PYTHON (interpreter for the venv, default python3),
# RECSYS_PYREADERS (the venv's folder), READERS_FORCE=1 (reinstall).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${RECSYS_PYREADERS:-${RECSYS_SERVICES_DIR:-$REPO/.services}/pyreaders}"
STAMP="$VENV/.readers-stamp"
PYTHON="${PYTHON:-python3}"

REQS=(
  "pyarrow==26.0.1"
  "duckdb==1.5.6"
)
WANT="$(printf '%s\n' "${REQS[@]}")"

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "[python-readers] creating $VENV with $("$PYTHON" --version 2>&1)" >&2
  mkdir -p "$(dirname "$VENV")"
  "$PYTHON" -m venv "$VENV"
fi

if [[ "${READERS_FORCE:-0}" != "1" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
  echo "[python-readers] already installed (stamp matches)" >&2
else
  echo "[python-readers] installing ${REQS[*]}" >&2
  "$VENV/bin/python" -m pip install --quiet --only-binary=:all: "${REQS[@]}"
  printf '%s' "$WANT" > "$STAMP"
fi

"$VENV/bin/python" -c 'import sys, pyarrow, duckdb; print("[python-readers]", sys.prefix, "pyarrow", pyarrow.__version__, "duckdb", duckdb.__version__)'
