#!/usr/bin/env bash
# Installs what the Spark batch engine (RECSYS_BATCH_ENGINE=spark, deploy/spark/) needs on this
# machine, into .spark/ at the repository root (gitignored):
#   .spark/venv   a virtualenv with pyspark (the job's driver; also spark-submit)
#   .spark/jars   hadoop-aws and the AWS SDK v2 bundle from Maven Central (s3a:// on MinIO or S3),
#                 checked against Maven Central's SHA-1 files
# and checks Java 17+ (pyspark 4 needs it; install e.g. `apt-get install openjdk-17-jre-headless`).
# Idempotent and quick the second time: a stamp holds the pinned versions; jars already there
# are kept. Prints the settings that point recsys at what it installed.
#
# Env: PYTHON (interpreter for the venv, default python3), SPARK_DEPS_DIR (default .spark),
#      SPARK_SETUP_FORCE=1 (reinstall even when the stamp matches).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${SPARK_DEPS_DIR:-$ROOT/.spark}"
VENV="$DIR/venv"
JARS="$DIR/jars"
PYTHON="${PYTHON:-python3}"
MAVEN="${MAVEN_CENTRAL:-https://repo1.maven.org/maven2}"

# pyspark 4.0.1 is built on Hadoop 3.4.1, whose hadoop-aws is built against AWS SDK v2 2.24.6:
# the three versions go together.
PYSPARK=4.0.1
HADOOP=3.4.1
AWS_SDK=2.24.6
NUMPY=2.4.6  # pyspark.ml imports numpy
JAR_PATHS=(
  "org/apache/hadoop/hadoop-aws/$HADOOP/hadoop-aws-$HADOOP.jar"
  "software/amazon/awssdk/bundle/$AWS_SDK/bundle-$AWS_SDK.jar"
)
log() { echo "[spark.sh] $*" >&2; }

if ! command -v java >/dev/null 2>&1; then
  log "java not found: the Spark engine needs Java 17+ (e.g. apt-get install openjdk-17-jre-headless)"
  exit 1
fi
JAVA_MAJOR="$(java -version 2>&1 | sed -nE '1s/.*version "([0-9]+).*/\1/p')"
if [[ -z "$JAVA_MAJOR" || "$JAVA_MAJOR" -lt 17 ]]; then
  log "Java ${JAVA_MAJOR:-?} found; pyspark $PYSPARK needs Java 17+"
  exit 1
fi

STAMP="$VENV/.recsys-spark-stamp"
WANT="pyspark==$PYSPARK numpy==$NUMPY"
if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating $VENV with $("$PYTHON" --version 2>&1)"
  "$PYTHON" -m venv "$VENV"
fi
if [[ "${SPARK_SETUP_FORCE:-0}" != "1" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; then
  log "pyspark $PYSPARK already installed"
else
  log "installing pyspark $PYSPARK (about 450 MB)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=numpy $WANT
  printf '%s' "$WANT" > "$STAMP"
fi

mkdir -p "$JARS"
for path in "${JAR_PATHS[@]}"; do
  jar="$JARS/$(basename "$path")"
  [[ -s "$jar" ]] && continue
  log "fetching $(basename "$path") from Maven Central"
  curl -fsSL --retry 3 -o "$jar.part" "$MAVEN/$path"
  want_sha="$(curl -fsSL --retry 3 "$MAVEN/$path.sha1" | cut -c1-40)"
  got_sha="$(sha1sum "$jar.part" | cut -c1-40)"
  if [[ "$want_sha" != "$got_sha" ]]; then
    rm -f "$jar.part"
    log "checksum mismatch for $(basename "$path") (want $want_sha, got $got_sha)"
    exit 1
  fi
  mv "$jar.part" "$jar"
done

log "ready: $("$VENV/bin/python" -c 'import pyspark; print("pyspark", pyspark.__version__)'), java $JAVA_MAJOR, jars in $JARS"
log "recsys finds them there by default (RECSYS_SPARK_PYTHON, RECSYS_SPARK_JARS override)"
