"""The pure layers import no Spark: the MinHash kernels, every extractor, every rule, the shard tools and the trainer
load without pyspark, so they run (and are tested) anywhere and keep Spark's start-up out of a worker that does not
need it."""
import pkgutil
import subprocess
import sys

import curation.extract
import curation.rules
import curation.shards
import train

PURE = [
    "curation.schema",
    "curation.pipeline.stage",
    "curation.pipeline.registry",
    "curation.pipeline.spec",
    "curation.dedup.minhash.kernels",
    "curation.dedup.minhash.lsh",
    "curation.dedup.minhash.decide",
    "curation.dedup.keep_policy",
    "curation.dedup.eval",
    "curation.dedup.planted",
    "curation.readers.file_source",
    "curation.sample.corpus",
    "curation.clean.pii",
    "curation.clean.decontam",
    "curation.clean.lines",
    "curation.clean.consent",
    *[f"{package.__name__}.{m.name}" for package in (curation.extract, curation.rules, curation.shards, train)
      for m in pkgutil.iter_modules(package.__path__)],
]

# Imports the modules one by one in a fresh interpreter and names the first after which pyspark is loaded.
PROBE = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
    if "pyspark" in sys.modules:
        print(name)
        break
"""


def test_pure_modules_leave_pyspark_unloaded():
    assert {"curation.extract.ocr_decision", "curation.rules.gopher", "train.trainer"} <= set(PURE)
    done = subprocess.run([sys.executable, "-c", PROBE, *PURE], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "", f"importing {done.stdout.strip()} loads pyspark"
