"""Arrow batches on Spark: run a pure per-batch function over a DataFrame (``mapInArrow``), cache a resource per
Python worker, count rows while an action runs, and a one-path-per-partition frame for file-parallel readers."""
from __future__ import annotations

import threading
from typing import Callable, Iterator

import pyarrow as pa


def spark_schema(schema: pa.Schema):
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def map_batches(df, fn: Callable[[pa.RecordBatch], pa.RecordBatch | pa.Table | None], schema: pa.Schema):
    """Run a pure per-batch function over a DataFrame with ``mapInArrow``.

    ``fn`` takes one Arrow record batch (the DataFrame's columns) and returns a batch or table with exactly
    ``schema``. It must be picklable; heavy resources it needs should be loaded once per Python worker via
    :func:`worker_cached`.
    """

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            out = fn(batch)
            if out is None:
                continue
            if isinstance(out, pa.Table):
                yield from out.to_batches()
            else:
                yield out

    return df.mapInArrow(run, spark_schema(schema))


def map_partitions(df, fn: Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]], schema: pa.Schema):
    """Like :func:`map_batches` but ``fn`` sees the whole partition's batch iterator (for stateful readers)."""
    return df.mapInArrow(fn, spark_schema(schema))


_WORKER_CACHE: dict = {}
_WORKER_LOCK = threading.Lock()


def observed(df, **metrics):
    """(``df`` with metrics attached, a function returning them once an action on that frame has run): the row
    count ``rows`` plus ``metrics`` (name -> aggregate Column), computed during the action instead of by a second
    job."""
    import uuid

    from pyspark.sql import Observation
    from pyspark.sql import functions as F

    observation = Observation(f"rows-{uuid.uuid4().hex}")
    columns = [F.count(F.lit(1)).alias("rows"), *[c.alias(name) for name, c in metrics.items()]]
    return df.observe(observation, *columns), lambda: observation.get


def checkpoint_observed(df, **metrics):
    """(``df`` checkpointed locally, the dict of its row count ``rows`` and ``metrics``, observed meanwhile).

    The blocks are kept serialized (rows are copied as bytes, not sized object by object as the default
    deserialized level does)."""
    from pyspark import StorageLevel

    watched, values = observed(df, **metrics)
    checkpointed = watched.localCheckpoint(storageLevel=StorageLevel.MEMORY_AND_DISK)
    return checkpointed, values()


def checkpoint_counted(df):
    """(``df`` checkpointed locally, its number of rows, counted while checkpointing)."""
    checkpointed, values = checkpoint_observed(df)
    return checkpointed, int(values["rows"])


def worker_cached(key, loader: Callable[[], object]):
    """Load a resource (a model, a tokenizer) once per Python worker process and reuse it across batches."""
    with _WORKER_LOCK:
        if key not in _WORKER_CACHE:
            _WORKER_CACHE[key] = loader()
        return _WORKER_CACHE[key]


def paths_frame(spark, paths: list[str], slices: int | None = None):
    """A one-column (``path``) DataFrame with one path per partition, for file-parallel readers."""
    from pyspark.sql.types import StringType, StructField, StructType

    schema = StructType([StructField("path", StringType())])
    n = max(1, len(paths) if slices is None else slices)
    rdd = spark.sparkContext.parallelize([(p,) for p in paths], n)
    return spark.createDataFrame(rdd, schema)
