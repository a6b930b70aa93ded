"""Parquet files as other tools write them, for `recsys import parquet` to read
(test/services/import-writers.test.ts): pyarrow as pandas leaves tables (large and view strings,
zone-less nanosecond timestamps, float64 values), pyarrow with the archive schema (dictionary ids,
microsecond UTC timestamps), Spark's INT96 timestamps, and DuckDB's COPY.

    python write_parquet.py OUT_DIR     prints {"files": [...]} on stdout
"""
import datetime as dt
import json
import os
import sys

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

out = sys.argv[1]
t0 = dt.datetime(2024, 3, 1, 10, 0, 0)
n = 5
files = []


def write(name, table, **kw):
    path = os.path.join(out, name)
    pq.write_table(table, path, **kw)
    files.append(path)


write(
    "pandas.parquet",
    pa.table(
        {
            "user_id": pa.array([f"pd-u{i}" for i in range(n)], pa.large_string()),
            "item_id": pa.array([f"pd-i{i}" for i in range(n)], pa.string_view()),
            "rating": pa.array([4.0, 3.5, 5.0, 1.0, 2.0], pa.float64()),
            "ts": pa.array([t0 + dt.timedelta(days=i) for i in range(n)], pa.timestamp("ns")),
        }
    ),
)
archive = pa.table(
    {
        "event_id": pa.array([f"0b6b3c2e-1f1a-4d6e-9c1b-00000000000{i}" for i in range(n)]),
        "user_id": pa.array([f"pa-u{i}" for i in range(n)]).dictionary_encode(),
        "item_id": pa.array([f"pa-i{i}" for i in range(n)]),
        "type": pa.array(["view", "click", "purchase", "rating", "dismiss"]),
        "value": pa.array([None, None, 9.5, 4.0, None], pa.float32()),
        "ts": pa.array([t0 + dt.timedelta(hours=i) for i in range(n)], pa.timestamp("us", tz="UTC")),
    }
)
write("pyarrow-archive.parquet", archive)
spark = archive.drop(["event_id"]).cast(
    pa.schema(
        [
            ("user_id", pa.string()),
            ("item_id", pa.string()),
            ("type", pa.string()),
            ("value", pa.float32()),
            ("ts", pa.timestamp("ns")),
        ]
    )
)
write(
    "spark-int96.parquet",
    spark.set_column(0, "user_id", pa.array([f"sp-u{i}" for i in range(n)])),
    use_deprecated_int96_timestamps=True,
)
duck = os.path.join(out, "duckdb.parquet")
duckdb.sql(
    "COPY (SELECT 'dk-u' || i::VARCHAR AS user_id, i AS item_id, 'view' AS type,"
    " TIMESTAMPTZ '2024-03-01 10:00:00+00' + INTERVAL (i) DAY AS ts FROM range(5) t(i))"
    f" TO '{duck}' (FORMAT PARQUET)"
)
files.append(duck)
print(json.dumps({"files": files, "pyarrow": pa.__version__, "duckdb": duckdb.__version__}))
