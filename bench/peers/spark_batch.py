#!/usr/bin/env python3
"""Peer: the seed design's batch job in PySpark (local[threads]) on an archive folder.

  spark_batch.py ARCHIVE_DIR --jdbc-url URL --table T [--from ISO-8601|all]
                 [--weights view=1,click=2,...] [--rank 64] [--iterations 10]
                 [--reg 0.01] [--alpha 40] [--top-n 100] [--model-version V]
                 [--threads 2] [--driver-memory 8g] [--jars JAR,...]

The job recsys's `batch run` does, the way a Spark deployment would write it: read the archive
Parquet (ARCHIVE_DIR/archive/interactions/dt=YYYY-MM-DD/*.parquet, Hive partitions) with ts
from --from on (the day partitions before it are pruned, as recsys skips them), drop repeated
event_ids, weigh each event by its type (weight × value, value 1
when null) and sum per (user, item), index the string ids (StringIndexer), fit implicit ALS,
recommendForAllUsers(top-n), map the indices back to ids and write
(user_id, model_version, item_ids text[], scores real[]) to the PostgreSQL table T through JDBC
(truncated first; the table must exist). Spark's implicit ALS takes c = 1 + alpha·|r| as recsys
does, but scales the penalty by each row's count of positive entries (regParam·n_u, ALS-WR).

Phases are timed apart by materialising each one's result (cache + count): start (the session
and its JVM), read, fit, recommend, write. Prints one JSON line on stdout:
  {"peer":"spark_batch","phases":{...},"total_seconds":...,"nnz":...,"users":...,"items":...}
Needs Java 17+ (pyspark 4.x) and the PostgreSQL JDBC jar (bench/setup-peers.sh puts it in
bench/.jars).
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep bench/peers free of __pycache__

from _interchange import PeerError, emit, log, quiet_stdout, run_main
from spark_als import java_version, local_spark


def parse_weights(text):
    weights = {}
    for entry in filter(None, (e.strip() for e in text.split(","))):
        name, sep, value = entry.partition("=")
        if not sep:
            raise PeerError(f'--weights: "{entry}" is not type=weight')
        weights[name.strip()] = float(value)
    return weights


def main():
    t_start = time.perf_counter()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("dir")
    ap.add_argument("--jdbc-url", required=True)
    ap.add_argument("--table", required=True)
    ap.add_argument("--from", dest="from_ts", default="all", help="oldest event time, ISO-8601 UTC")
    ap.add_argument("--weights", default="view=1,click=2,add_to_cart=4,purchase=8,rating=1,dismiss=-1")
    ap.add_argument("--rank", type=int, default=64)
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--reg", type=float, default=0.01)
    ap.add_argument("--alpha", type=float, default=40.0)
    ap.add_argument("--top-n", type=int, default=100)
    ap.add_argument("--model-version", default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--driver-memory", default=os.environ.get("SPARK_DRIVER_MEMORY", "8g"))
    ap.add_argument("--jars", default="")
    args = ap.parse_args()
    quiet_stdout()  # the JVM shares our stdout; keep it for the JSON line only

    archive = os.path.join(args.dir, "archive", "interactions")
    if not os.path.isdir(archive):
        raise PeerError(f"no archive at {archive}")
    weights = parse_weights(args.weights)
    version = args.model_version or time.strftime("spark-%Y%m%dT%H%M%S", time.gmtime())
    jv = java_version()
    log(f"spark_batch: {jv}")

    try:
        import pyspark
        from pyspark.ml.feature import StringIndexer
        from pyspark.ml.recommendation import ALS
        from pyspark.sql import functions as F
    except ImportError as e:
        raise PeerError(f"cannot import pyspark ({e}); run bench/setup-peers.sh") from None

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    tmp = tempfile.mkdtemp(prefix="spark-batch-")
    spark = None
    phases = {}
    try:
        t = time.perf_counter()
        extra = [("spark.sql.session.timeZone", "UTC")] + ([("spark.jars", args.jars)] if args.jars else [])
        spark = local_spark("spark_batch_peer", args.threads, args.driver_memory, tmp, 4 * args.threads, extra)
        phases["start"] = time.perf_counter() - t

        # read: the window's events, deduplicated, weighted, summed per (user, item), indexed.
        t = time.perf_counter()
        events = spark.read.parquet(archive)
        if args.from_ts != "all":
            start = F.to_timestamp(F.lit(args.from_ts))
            events = events.where((F.col("dt") >= F.to_date(start)) & (F.col("ts") >= start))
        weight = F.lit(0.0)
        for name, w in weights.items():
            weight = F.when(F.col("type") == name, F.lit(w)).otherwise(weight)
        pairs = (
            events.dropDuplicates(["event_id"])
            .select("user_id", "item_id", (weight * F.coalesce(F.col("value"), F.lit(1.0))).alias("w"))
            .where(F.col("w") != 0)
            .groupBy("user_id", "item_id")
            .agg(F.sum("w").cast("float").alias("rating"))
        )
        indexer = StringIndexer(inputCols=["user_id", "item_id"], outputCols=["user", "item"]).fit(pairs)
        user_labels, item_labels = indexer.labelsArray
        ratings = indexer.transform(pairs).select(
            F.col("user").cast("int"), F.col("item").cast("int"), "rating"
        ).cache()
        nnz = ratings.count()
        phases["read"] = time.perf_counter() - t

        t = time.perf_counter()
        als = ALS(
            rank=args.rank, maxIter=args.iterations, regParam=args.reg, implicitPrefs=True,
            alpha=args.alpha, seed=0, userCol="user", itemCol="item", ratingCol="rating",
        )
        model = als.fit(ratings)  # eager: materialises the user and item factors
        phases["fit"] = time.perf_counter() - t

        # recommend: top-n per user, indices mapped back to ids through one broadcast row.
        t = time.perf_counter()
        labels = spark.createDataFrame(
            [(list(user_labels), list(item_labels))], "user_labels array<string>, item_labels array<string>"
        )
        recs = (
            model.recommendForAllUsers(args.top_n)
            .crossJoin(F.broadcast(labels))
            .select(
                F.element_at("user_labels", F.col("user") + 1).alias("user_id"),
                F.lit(version).alias("model_version"),
                F.transform(
                    "recommendations", lambda r: F.element_at(F.col("item_labels"), r["item"] + 1)
                ).alias("item_ids"),
                F.transform("recommendations", lambda r: r["rating"]).alias("scores"),
            )
            .cache()
        )
        n_recs = recs.count()
        phases["recommend"] = time.perf_counter() - t

        t = time.perf_counter()
        (
            recs.write.format("jdbc")
            .option("url", args.jdbc_url)
            .option("dbtable", args.table)
            .option("driver", "org.postgresql.Driver")
            .option("batchsize", "5000")
            .option("truncate", "true")  # keep the table (its primary key), empty it
            .mode("overwrite")
            .save()
        )
        phases["write"] = time.perf_counter() - t

        emit({
            "peer": "spark_batch", "version": pyspark.__version__, "java": jv,
            "phases": {k: round(v, 3) for k, v in phases.items()},
            "total_seconds": round(time.perf_counter() - t_start, 3),
            "nnz": nnz, "users": len(user_labels), "items": len(item_labels), "rows_written": n_recs,
            "model_version": version, "threads": args.threads, "driver_memory": args.driver_memory,
            "rank": args.rank, "iterations": args.iterations, "reg": args.reg, "alpha": args.alpha,
            "top_n": args.top_n, "from": args.from_ts,
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
