#!/usr/bin/env python3
"""recsys's batch training on Apache Spark: `RECSYS_BATCH_ENGINE=spark` submits this job.

  spark-submit [--master M] [--jars hadoop-aws.jar,bundle.jar] train_als.py \
      --archive s3a://BUCKET/archive/interactions [--recent URI] --out s3a://BUCKET/models/V/spark/candidate \
      --mode implicit|explicit --weights '{"view":1,...}' --rank 64 --iterations 15 --lambda 15 \
      [--reg-exponent 0.6] [--alpha 1] [--seed 42] [--from-ms MS] [--until-ms MS] [--recommend N]

The same training data as the built-in engine (src/batch/training-data.ts): the archive's
Parquet (Hive `dt=` partitions) plus, with --recent, the run's export of the rows not archived
yet; events from --from-ms on and (for a run's candidate, which leaves the holdout out) before
--until-ms; one row per event_id; explicit mode keeps rating events with a value, implicit mode
weighs every event by its type (weight × value, 1 when null) and drops zero weights; then one
value per (user, item): the latest rating, or the sum of the weights.

pyspark.ml ALS wants integer ids, so the string ids are indexed (StringIndexer) and the factors
are written back under their string ids, as Parquet:
  OUT/users/  user_id string, factors array<float>
  OUT/items/  item_id string, factors array<float>
With --recommend N, also each user's top N by recommendForAllUsers, the user's own training
items left out (RECSYS_SPARK_RECOMMEND; recsys then writes these lists instead of scoring):
  OUT/recs/   user_id string, item_ids array<string>, scores array<float> (best first)
Spark's ALS penalises a row by regParam·n (its count of entries, ALS-WR, in both modes) where
the built-in engine uses λ·n^e (explicit) or a plain λ (implicit): regParam is chosen so the
mean user row gets the built-in penalty, λ·m^(e−1) (e = 0 for implicit).

Progress goes to stdout as JSON lines {"phase": ...}, the last one {"done": {...}}; a failure
ends with {"error": "..."} and exit status 1. Credentials for s3a come from the environment
(RECSYS_SPARK_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), never the command line.
"""

import argparse
import json
import math
import os
import socket
import sys
import threading
import time
import traceback


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def parse_args(argv):
    ap = argparse.ArgumentParser(description="recsys ALS training on Spark")
    ap.add_argument("--archive", required=True, help="folder of the archive's day partitions")
    ap.add_argument("--recent", default=None, help="Parquet of the rows not archived yet (same schema)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--mode", choices=["explicit", "implicit"], required=True)
    ap.add_argument("--weights", required=True, help="JSON object: event type -> weight")
    ap.add_argument("--rank", type=int, required=True)
    ap.add_argument("--iterations", type=int, required=True)
    ap.add_argument("--lambda", dest="lam", type=float, required=True)
    ap.add_argument("--reg-exponent", type=float, default=1.0)
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--from-ms", type=int, default=None)
    ap.add_argument("--until-ms", type=int, default=None)
    ap.add_argument("--recommend", type=int, default=0, help="top N per user by recommendForAllUsers (0: none)")
    return ap.parse_args(argv)


def configure_s3a(spark):
    """s3a on MinIO or S3: endpoint and keys from the environment, path-style addressing."""
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    endpoint = os.environ.get("RECSYS_SPARK_S3_ENDPOINT")
    if endpoint:
        conf.set("fs.s3a.endpoint", endpoint)
        conf.set("fs.s3a.path.style.access", "true")
        conf.set("fs.s3a.connection.ssl.enabled", str(endpoint.startswith("https:")).lower())
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        conf.set("fs.s3a.access.key", key)
        conf.set("fs.s3a.secret.key", secret)
        conf.set("fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider")
    conf.set("fs.s3a.endpoint.region", os.environ.get("AWS_REGION", "us-east-1"))


def exists(spark, uri):
    """Whether a path exists, through Hadoop's file system for its scheme (s3a, file, hdfs)."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).exists(path)


def training_pairs(spark, args):
    """(user_id, item_id, rating): the window's events, deduplicated, weighted, one per pair."""
    from pyspark.sql import functions as F

    cols = ["event_id", "user_id", "item_id", "type", "value", "ts"]
    sources = []
    # A new deployment may have events only in the rows not archived yet: no archive folder.
    if exists(spark, args.archive):
        archived = spark.read.option("basePath", args.archive).parquet(args.archive)
        if args.from_ms is not None:
            start = F.timestamp_millis(F.lit(args.from_ms))
            # dt prunes the day partitions before the window; ts cuts within the first day.
            archived = archived.where((F.col("dt") >= F.to_date(start)) & (F.col("ts") >= start))
        sources.append(archived.select(*cols))
    if args.recent:
        recent = spark.read.parquet(args.recent).select(*cols)
        if args.from_ms is not None:
            recent = recent.where(F.col("ts") >= F.timestamp_millis(F.lit(args.from_ms)))
        sources.append(recent)
    if not sources:
        raise ValueError(f"no archive at {args.archive} and no recent rows: nothing to train on")
    events = sources[0]
    for more in sources[1:]:
        events = events.unionByName(more)
    if args.until_ms is not None:
        events = events.where(F.col("ts") < F.timestamp_millis(F.lit(args.until_ms)))
    events = events.dropDuplicates(["event_id"])

    if args.mode == "explicit":
        weighted = events.where((F.col("type") == "rating") & F.col("value").isNotNull()).select(
            "user_id", "item_id", F.col("value").cast("double").alias("w"), "ts"
        )
        return weighted.groupBy("user_id", "item_id").agg(F.max_by("w", "ts").cast("float").alias("rating"))
    weight = F.lit(0.0)
    for name, w in json.loads(args.weights).items():
        weight = F.when(F.col("type") == name, F.lit(float(w))).otherwise(weight)
    weighted = events.select(
        "user_id", "item_id", (weight * F.coalesce(F.col("value").cast("double"), F.lit(1.0))).alias("w")
    ).where((F.col("w") != 0) & ~F.isnan("w"))
    return weighted.groupBy("user_id", "item_id").agg(F.sum("w").cast("float").alias("rating"))


def factors_out(spark, model_factors, labels, id_col):
    """ALS factors (int id, features) → (string id, factors) through the indexer's labels."""
    from pyspark.sql import functions as F

    names = spark.createDataFrame([(i, s) for i, s in enumerate(labels)], f"id int, {id_col} string")
    return model_factors.join(F.broadcast(names) if len(labels) < 1_000_000 else names, "id").select(
        id_col, F.col("features").alias("factors")
    )


def exit_with(parent_pid):
    """Ends the job once the recsys process that submitted it is gone: killed with -9, it cannot
    stop the job, and a driver left running would hold its cores and memory for nothing. The
    driver's exit ends spark-submit's JVM (PythonRunner exits with the driver's status)."""

    def watch():
        while True:
            time.sleep(2)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                sys.stderr.write(f"recsys (pid {parent_pid}) is gone: stopping the Spark job\n")
                sys.stderr.flush()
                os._exit(3)
            except PermissionError:  # alive, another user's: not ours to judge
                pass

    threading.Thread(target=watch, name="recsys-parent-watch", daemon=True).start()


def top_lists(spark, model, ratings, n, user_labels, item_labels):
    """Each user's n best items by recommendForAllUsers, without the items the user trained on.
    Spark cannot leave them out while it scores, so it is asked for n + the most items any user
    has (capped at RECOMMEND_EXTRA_CAP) and they are dropped after: a user with more training
    items than that among the best may get fewer than n."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    most = ratings.groupBy("user").count().agg(F.max("count")).first()[0] or 0
    k = n + min(int(most), RECOMMEND_EXTRA_CAP)
    recs = model.recommendForAllUsers(k).select(
        "user", F.posexplode("recommendations").alias("pos", "rec")
    ).select("user", F.col("rec.item").alias("item"), F.col("rec.rating").alias("score"), "pos")
    unseen = recs.join(ratings.select("user", "item"), ["user", "item"], "left_anti")
    ranked = unseen.withColumn("r", F.row_number().over(Window.partitionBy("user").orderBy("pos"))).where(
        F.col("r") <= n
    )
    items = spark.createDataFrame([(i, s) for i, s in enumerate(item_labels)], "item int, item_id string")
    users = spark.createDataFrame([(i, s) for i, s in enumerate(user_labels)], "user int, user_id string")
    lists = (
        ranked.join(F.broadcast(items) if len(item_labels) < 1_000_000 else items, "item")
        .groupBy("user")
        .agg(F.sort_array(F.collect_list(F.struct("r", "item_id", "score"))).alias("l"))
        .select(
            "user",
            F.col("l.item_id").alias("item_ids"),
            F.col("l.score").cast("array<float>").alias("scores"),
        )
    )
    return lists.join(users, "user").select("user_id", "item_ids", "scores")


RECOMMEND_EXTRA_CAP = 1000


def main(argv):
    args = parse_args(argv)
    # Only where the driver runs beside recsys (client deploy mode): a pid means nothing elsewhere.
    parent = os.environ.get("RECSYS_SPARK_PARENT", "")
    host, _, pid = parent.rpartition(":")
    if pid.isdigit() and host == socket.gethostname():
        exit_with(int(pid))
    from pyspark.ml.feature import StringIndexer
    from pyspark.ml.recommendation import ALS
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    t0 = time.perf_counter()
    spark = SparkSession.builder.appName("recsys-als").config("spark.sql.session.timeZone", "UTC").getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("RECSYS_SPARK_LOG_LEVEL", "WARN"))
    seconds = {"start": time.perf_counter() - t0}
    try:
        configure_s3a(spark)
        emit({"phase": "read"})
        t = time.perf_counter()
        # Cached: the indexer reads the pairs once to fit and once to transform.
        pairs = training_pairs(spark, args).cache()
        indexer = StringIndexer(
            inputCols=["user_id", "item_id"], outputCols=["user", "item"], stringOrderType="alphabetAsc"
        ).fit(pairs)
        user_labels, item_labels = indexer.labelsArray
        ratings = (
            indexer.transform(pairs)
            .select(F.col("user").cast("int"), F.col("item").cast("int"), "rating")
            .cache()
        )
        nnz = ratings.count()
        seconds["read"] = time.perf_counter() - t
        if nnz == 0:
            raise ValueError("no interactions to train on in the window")
        mean_row = nnz / len(user_labels)
        exponent = args.reg_exponent if args.mode == "explicit" else 0.0
        reg = args.lam * math.pow(mean_row, exponent - 1.0)

        emit({"phase": "fit", "interactions": nnz, "users": len(user_labels), "items": len(item_labels)})
        t = time.perf_counter()
        als = ALS(
            rank=args.rank,
            maxIter=args.iterations,
            regParam=reg,
            implicitPrefs=args.mode == "implicit",
            alpha=args.alpha,
            seed=args.seed,
            userCol="user",
            itemCol="item",
            ratingCol="rating",
        )
        model = als.fit(ratings)
        seconds["fit"] = time.perf_counter() - t

        emit({"phase": "write"})
        t = time.perf_counter()
        # About a million rows per file: no swarm of tiny files for recsys to read back.
        factors_out(spark, model.userFactors, user_labels, "user_id").coalesce(
            max(1, len(user_labels) // 1_000_000)
        ).write.mode("overwrite").parquet(
            args.out.rstrip("/") + "/users"
        )
        factors_out(spark, model.itemFactors, item_labels, "item_id").coalesce(
            max(1, len(item_labels) // 1_000_000)
        ).write.mode("overwrite").parquet(
            args.out.rstrip("/") + "/items"
        )
        seconds["write"] = time.perf_counter() - t
        if args.recommend > 0:
            emit({"phase": "recommend"})
            t = time.perf_counter()
            top_lists(spark, model, ratings, args.recommend, user_labels, item_labels).coalesce(
                max(1, len(user_labels) // 200_000)
            ).write.mode("overwrite").parquet(args.out.rstrip("/") + "/recs")
            seconds["recommend"] = time.perf_counter() - t
        emit({
            "done": {
                "interactions": nnz,
                "users": len(user_labels),
                "items": len(item_labels),
                "reg_param": reg,
                "spark": spark.version,
                "master": spark.sparkContext.master,
                "seconds": {k: round(v, 3) for k, v in seconds.items()},
            }
        })
    finally:
        spark.stop()


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except Exception as e:  # one line the caller can show as the run's error; the trace to the log
        traceback.print_exc(file=sys.stderr)
        emit({"error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:1000]})
        sys.exit(1)
