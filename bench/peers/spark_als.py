#!/usr/bin/env python3
"""Peer: Spark MLlib ALS (pyspark, local[threads]) on an interchange folder.

  spark_als.py DIR [--threads N] [--driver-memory 8g]

Prints one JSON line on stdout:
  {"peer":"spark","version":...,"fit_seconds":...,"seconds_per_iteration":...,"threads":...,...}
The COO arrays are written once to a temporary Parquet file with pyarrow and
read by Spark (no Python workers involved); the DataFrame is cached and counted
before timing, and only ALS.fit() is timed (fit is eager: it materialises the
user and item factor RDDs). Needs Java 17+ (pyspark 4.x); JAVA_HOME or java on PATH.
Spark's implicit confidence is 1 + alpha * |r| (implicit's peer uses alpha * r).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep bench/peers free of __pycache__

from _interchange import PeerError, emit, log, quiet_stdout, read_als, run_main

LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
logger.netlib.name = dev.ludovic.netlib
logger.netlib.level = error
"""


def java_version():
    java = os.path.join(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else shutil.which("java")
    if not java:
        raise PeerError("java not found (set JAVA_HOME or put Java 17+ on PATH)")
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    except OSError as e:
        raise PeerError(f"cannot run {java}: {e}") from None
    first = out.splitlines()[0] if out else "?"
    return first


def local_spark(app, threads, driver_memory, tmp, shuffle_partitions, extra=()):
    """A local[threads] SparkSession kept quiet (log4j2 at ERROR, no UI or progress bar) and on
    loopback (otherwise Spark picks the eth0 address), spilling and checkpointing under tmp;
    `extra`: more (key, value) settings."""
    from pyspark.sql import SparkSession

    log4j = os.path.join(tmp, "log4j2.properties")
    with open(log4j, "w") as f:
        f.write(LOG4J2)
    java_opts = f"-Dlog4j2.configurationFile=file:{log4j} -Dlog4j.configurationFile=file:{log4j}"
    builder = (
        SparkSession.builder.master(f"local[{threads}]")
        .appName(app)
        .config("spark.driver.memory", driver_memory)
        .config("spark.driver.extraJavaOptions", java_opts)
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.local.dir", tmp)
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.default.parallelism", str(threads))
    )
    for key, value in extra:
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.setCheckpointDir(os.path.join(tmp, "checkpoints"))
    return spark


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("dir")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--driver-memory", default=os.environ.get("SPARK_DRIVER_MEMORY", "8g"))
    args = ap.parse_args()
    quiet_stdout()  # the JVM shares our stdout; keep it for the JSON line only

    meta, users, items, values = read_als(args.dir)
    threads = args.threads if args.threads is not None else meta["threads"]
    if threads < 1:
        raise PeerError("--threads must be >= 1")
    jv = java_version()
    log(f"spark_als: {jv}")

    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
        import pyspark
        from pyspark.ml.recommendation import ALS
    except ImportError as e:
        raise PeerError(f"cannot import pyspark/pyarrow ({e}); run bench/setup-peers.sh") from None

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    tmp = tempfile.mkdtemp(prefix="spark-als-")
    spark = None
    try:
        pq_path = os.path.join(tmp, "ratings.parquet")
        pq.write_table(
            pa.table({"user": pa.array(users), "item": pa.array(items), "rating": pa.array(values)}),
            pq_path, compression="none",
        )
        del users, items, values

        spark = local_spark("spark_als_peer", threads, args.driver_memory, tmp, max(4, 2 * threads))

        df = spark.read.parquet(pq_path).repartition(threads).cache()
        n = df.count()
        if n != meta["nnz"]:
            raise PeerError(f"Spark read {n} rows, meta says nnz={meta['nnz']}")

        implicit_prefs = meta["mode"] == "implicit"

        def make_als(iterations):
            return ALS(
                rank=meta["factors"], maxIter=iterations, regParam=float(meta["lambda"]),
                implicitPrefs=implicit_prefs, alpha=float(meta["alpha"]), seed=0,
                coldStartStrategy="drop", userCol="user", itemCol="item", ratingCol="rating",
            )

        # Untimed warm-up: a 1-iteration fit on a small slice loads and JITs the
        # ALS code paths (driver and executor threads share the one local JVM).
        small = df.limit(20000).cache()
        small.count()
        wm = make_als(1).fit(small)
        wm.userFactors.unpersist()
        wm.itemFactors.unpersist()
        small.unpersist()

        als = make_als(meta["iterations"])
        t0 = time.perf_counter()
        model = als.fit(df)
        fit_s = time.perf_counter() - t0

        # Sanity check (untimed): factor counts
        nu, ni = model.userFactors.count(), model.itemFactors.count()
        if nu != meta["nUsers"] or ni != meta["nItems"]:
            log(f"spark_als: note: model has {nu} users / {ni} items (meta {meta['nUsers']}/{meta['nItems']})")

        emit({
            "peer": "spark", "version": pyspark.__version__, "fit_seconds": round(fit_s, 6),
            "seconds_per_iteration": round(fit_s / meta["iterations"], 6), "threads": threads,
            "mode": meta["mode"], "nUsers": meta["nUsers"], "nItems": meta["nItems"],
            "nnz": meta["nnz"], "factors": meta["factors"], "iterations": meta["iterations"],
            "driver_memory": args.driver_memory, "java": jv,
            "loadavg_1m": round(os.getloadavg()[0], 2),
        })
    finally:
        if spark is not None:
            try:
                spark.stop()
            except Exception:
                pass
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run_main(main)
