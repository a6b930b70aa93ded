#!/usr/bin/env bash
# Creates bench/.venv (gitignored) with the pinned Python "peer" libraries that
# the benchmark compares against: implicit (CPU wheels), pyspark, faiss-cpu,
# plus a FastAPI/uvicorn/redis serving peer, and into bench/.jars (gitignored)
# the PostgreSQL JDBC driver the Spark batch peer writes with (Maven Central). Idempotent: a stamp file holding
# the requirement list is written after a successful install; if it matches,
# the install step is skipped. Always prints the installed versions at the end.
#
# Env overrides: PYTHON (interpreter used to create the venv, default python3),
#                PEERS_FORCE=1 (reinstall even if the stamp matches).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
STAMP="$VENV/.peers-stamp"
PYTHON="${PYTHON:-python3}"

# Pinned versions. pyspark 4.0.x needs Java 17+ (and runs on 17/21).
REQS=(
  "numpy==2.4.6"
  "scipy==1.17.1"
  "threadpoolctl==3.8.0"
  "implicit==0.7.3"
  "faiss-cpu==1.15.1"
  "pyspark==4.0.1"
  "pyarrow==26.0.1"
  "fastapi==0.165.0"
  "uvicorn[standard]==0.54.0"
  "redis==8.1.0"
)
WANT="$(printf '%s\n' "${REQS[@]}")"

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "[setup-peers] creating $VENV with $($PYTHON --version 2>&1)" >&2
  "$PYTHON" -m venv "$VENV"
fi

if [[ "${PEERS_FORCE:-0}" != "1" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
  echo "[setup-peers] already installed (stamp matches), skipping pip" >&2
else
  echo "[setup-peers] installing pinned peer packages" >&2
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  # implicit: CPU build from the PyPI manylinux wheel only (never a source/CUDA build).
  "$VENV/bin/python" -m pip install --quiet --only-binary=implicit,faiss-cpu,numpy,scipy,pyarrow "${REQS[@]}"
  printf '%s' "$WANT" > "$STAMP"
fi

# wrk drives the serving benchmark (Debian package).
if ! command -v wrk >/dev/null 2>&1; then
  echo "[setup-peers] installing wrk (apt)" >&2
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

if ! command -v java >/dev/null 2>&1; then
  echo "[setup-peers] WARNING: java not found on PATH; spark_als.py needs Java 17+" >&2
fi

# The PostgreSQL JDBC driver for spark_batch.py, fetched by Maven from Maven Central.
JDBC_VERSION=42.7.14
JARS="$HERE/.jars"
if [[ ! -f "$JARS/postgresql-$JDBC_VERSION.jar" ]]; then
  if command -v mvn >/dev/null 2>&1; then
    echo "[setup-peers] fetching org.postgresql:postgresql:$JDBC_VERSION into $JARS" >&2
    mkdir -p "$JARS"
    mvn -q -B org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
      "-Dartifact=org.postgresql:postgresql:$JDBC_VERSION:jar" "-DoutputDirectory=$JARS" >&2
  else
    echo "[setup-peers] WARNING: mvn not found; spark_batch.py needs $JARS/postgresql-$JDBC_VERSION.jar" >&2
  fi
fi

"$VENV/bin/python" - <<'PY'
import importlib.metadata as md, sys
pkgs = ["numpy", "scipy", "threadpoolctl", "implicit", "faiss-cpu", "pyspark",
        "pyarrow", "fastapi", "uvicorn", "uvloop", "httptools", "redis"]
print("python", sys.version.split()[0])
for p in pkgs:
    try:
        print(f"{p} {md.version(p)}")
    except md.PackageNotFoundError:
        print(f"{p} (not installed)")
PY
if command -v java >/dev/null 2>&1; then
  java -version 2>&1 | head -1
fi
ls "$JARS" 2>/dev/null || true
