"""What the HTML report shows, gathered from a run directory without Spark: the ledger, each stage's
``stats.json``, and a streaming pass (Arrow record batches, a few columns; memory bounded by the number of
distinct sources, languages and reasons, not by the corpus) over the final stage's documents and the rejected rows.

Characters per stage need no intermediate folder: what a stage kept is what the final stage kept plus what every
later stage rejected.
"""
from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
import pyarrow.compute as pc
import pyarrow.dataset as ds
import yaml

SCORE_BINS = np.linspace(0.0, 1.0, 41)


@dataclass
class RunData:
    out: str
    ledger: dict
    spec: dict
    stats: dict[str, dict]                       # stage -> stats.json
    skipped: dict[str, int] = field(default_factory=dict)       # ingest "skipped: ..." reasons (not documents)
    chars_rejected: dict[str, int] = field(default_factory=dict)  # stage -> characters of its rejected documents
    chars_final: int = 0
    by_source: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))  # source -> stage/kept
    langs: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))  # lang -> kept / rejected
    cluster_sizes: Counter = field(default_factory=Counter)      # duplicate cluster size -> clusters
    scores: dict[str, np.ndarray] = field(default_factory=dict)  # "kept" / "rejected" -> histogram counts
    final_stage: str = ""

    def stage_types(self) -> dict[str, str]:
        return {s["stage"]: s["type"] for s in self.ledger["stages"]}


def part_files(folder: str) -> list[str]:
    if not os.path.isdir(folder):
        return []
    return sorted(os.path.join(folder, f) for f in os.listdir(folder)
                  if f.endswith(".parquet") and not f.startswith(("_", ".")))


def scan(folder: str, wanted: list[str]):
    """Record batches of the ``wanted`` columns a stage folder has (none: nothing)."""
    files = part_files(folder)
    if not files:
        return
    dataset = ds.dataset(files, format="parquet")
    have = [c for c in wanted if c in dataset.schema.names]
    if not have:
        return
    yield from dataset.to_batches(columns=have, batch_size=8192)


def _text_chars(batch) -> int:
    if "text" not in batch.schema.names:
        return 0
    return int(pc.sum(pc.utf8_length(batch.column("text"))).as_py() or 0)


def _count(counter, column) -> None:
    for value, n in zip(*np.unique(np.array(column.to_pylist(), dtype=object).astype(str), return_counts=True)):
        counter[value] += int(n)


def load_run(out: str) -> RunData:
    """Everything the report needs from the run directory ``out`` (raises FileNotFoundError naming the file)."""
    ledger_path = os.path.join(out, "ledger.json")
    if not os.path.isfile(ledger_path):
        raise FileNotFoundError(f"no ledger at {ledger_path} (is {out} a finished run directory?)")
    with open(ledger_path) as f:
        ledger = json.load(f)
    spec = {}
    if os.path.isfile(os.path.join(out, "spec.yaml")):
        with open(os.path.join(out, "spec.yaml")) as f:
            spec = yaml.safe_load(f) or {}
    stats = {}
    for s in ledger["stages"]:
        p = os.path.join(out, s["stage"], "stats.json")
        if os.path.isfile(p):
            with open(p) as f:
                stats[s["stage"]] = json.load(f)
    data = RunData(out=out, ledger=ledger, spec=spec, stats=stats)
    stages = ledger["stages"]
    if stages:
        data.skipped = {r: n for r, n in stages[0]["reasons"].items() if r.startswith("skipped")}
        data.final_stage = stages[-1]["stage"]
    cols = ["source", "lang", "text", "quality_score", "reason"]
    for s in stages:
        rejected = 0
        for batch in scan(os.path.join(out, "rejected", s["stage"]), cols):
            if "reason" in batch.schema.names:  # skipped records are not documents
                batch = batch.filter(pc.invert(pc.fill_null(pc.starts_with(batch.column("reason"), "skipped"), False)))
            rejected += _text_chars(batch)
            _gather(data, batch, s["stage"], "rejected")
        data.chars_rejected[s["stage"]] = rejected
    if stages:
        for batch in scan(os.path.join(out, data.final_stage), cols):
            data.chars_final += _text_chars(batch)
            _gather(data, batch, "kept", "kept")
    for s in stages:
        if s["type"] == "minhash":
            _clusters(data, os.path.join(out, s["stage"]))
    return data


def _gather(data: RunData, batch, source_key: str, outcome: str) -> None:
    names = batch.schema.names
    if "source" in names:
        sources = Counter()
        _count(sources, batch.column("source"))
        for src, n in sources.items():
            data.by_source[src][source_key] += n
    if "lang" in names:
        langs = Counter()
        _count(langs, batch.column("lang"))
        for lang, n in langs.items():
            data.langs[lang][outcome] += n
    if "quality_score" in names:
        values = batch.column("quality_score").drop_null().to_numpy(zero_copy_only=False)
        hist, _ = np.histogram(np.clip(values, 0, 1), bins=SCORE_BINS)
        data.scores[outcome] = data.scores.get(outcome, np.zeros(len(SCORE_BINS) - 1, dtype=np.int64)) + hist


def _clusters(data: RunData, folder: str) -> None:
    """Duplicate clusters by size: a cluster of size k has k member rows (every document with a duplicate is
    in the folder, annotated or not)."""
    rows = Counter()
    for batch in scan(folder, ["dup_cluster_size"]):
        sizes = batch.column("dup_cluster_size").drop_null().to_numpy(zero_copy_only=False)
        for k, n in zip(*np.unique(sizes[sizes > 1], return_counts=True)):
            rows[int(k)] += int(n)
    data.cluster_sizes.update({k: n // k for k, n in rows.items()})


def chars_per_stage(data: RunData) -> list[tuple[str, int, int]]:
    """(stage, characters in, characters kept) per stage."""
    stages = [s["stage"] for s in data.ledger["stages"]]
    kept = data.chars_final
    rows = []
    for name in reversed(stages):
        rows.append((name, kept + data.chars_rejected.get(name, 0), kept))
        kept += data.chars_rejected.get(name, 0)
    return list(reversed(rows))
