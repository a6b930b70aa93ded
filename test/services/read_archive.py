"""Reads the Parquet archive under ROOT (archive/interactions/dt=*/*.parquet) with pyarrow and with
DuckDB, exactly as the files are, and prints what each reader saw as one JSON object.
Run by test/services/archive-readers.test.ts with the venv of scripts/python-readers.sh."""
import glob
import json
import os
import sys

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

root = os.path.join(sys.argv[1], "archive", "interactions")
files = sorted(glob.glob(os.path.join(root, "dt=*", "*.parquet")))

# pyarrow: each file on its own (its schema as written), then the folder as a hive dataset.
schemas = set()
rows = []
for f in files:
    t = pq.read_table(f)
    schemas.add(json.dumps([[fl.name, str(fl.type), fl.nullable] for fl in t.schema]))
    ts = t.column("ts").cast(pa.int64()).to_pylist()
    for i, r in enumerate(t.to_pylist()):
        rows.append([r["event_id"], r["user_id"], r["item_id"], r["type"], r["value"], ts[i],
                     os.path.basename(os.path.dirname(f))[3:]])
dataset = ds.dataset(root, format="parquet", partitioning="hive")
dataset_rows = dataset.count_rows()

# DuckDB: the documented way to read a hive-partitioned folder.
pattern = os.path.join(root, "dt=*", "*.parquet")
con = duckdb.connect()
rel = f"read_parquet('{pattern}', hive_partitioning = true)"
types = {name: typ for name, typ, *_ in con.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()}
duck_rows = [
    list(r)
    for r in con.execute(
        f"SELECT event_id, user_id, item_id, type, value, epoch_ms(ts), CAST(dt AS VARCHAR) FROM {rel}"
        " ORDER BY event_id"
    ).fetchall()
]

print(json.dumps({
    "files": len(files),
    "pyarrow": {
        "version": pa.__version__,
        "schemas": [json.loads(s) for s in schemas],
        "rows": sorted(rows),
        "dataset_rows": dataset_rows,
    },
    "duckdb": {"version": duckdb.__version__, "types": types, "rows": duck_rows},
}))
