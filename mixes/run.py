"""``curate mix run``: one proxy per candidate mixture, trained K at a time as a swarm, into a resumable folder.

    metrics = run_mixtures(ratios, {"web": "shards/web", ...}, {"web": "shards/eval/web", ...},
                           TrainConfig(model="mix-s", ...), token_budget=1_000_000, seed=0, out_dir="runs/mix/swarm")

Every run shares the architecture, seed, schedule and token budget; only its mixture differs. Runs are trained K at a
time with :func:`train.swarm.train_swarm`, whose members each equal the run trained alone, so how runs are grouped
into swarms does not change a result (beyond float summation order). The folder:

- ``run.json``: what every run shares (training config, token budget, seed, device type, eval sets, a fingerprint of
  each source's shards). A later call with another config, budget, seed, device type or eval sets, or sources whose
  shards changed, is refused: the table would mix two experiments.
- ``runs/<run id>/metrics.json``: one finished run (eval losses and bits-per-byte, its train-loss curve, timing),
  written to a temporary name and renamed, so it exists only for a finished run. A run without it (never started,
  or killed mid-swarm) is trained on the next call; a run with it is never trained again.

The returned ``metrics`` table has one row per run (index ``run``, in the ratios' order) and the columns
``loss/<eval>`` (nats/token) and ``bpb/<eval>`` (bits per byte) for every eval set, then ``seed``,
``tokens_trained``, ``params`` and ``train_seconds`` (the run's share of its swarm's training wall time: the
swarm's time over its size).

The swarm size K (``swarm_size=None``) is chosen by :func:`train.swarm.auto_swarm_size`: on CUDA from the free
memory and a measured per-member footprint, on the CPU the measured best. On the CPU, swarms train in parallel in
``workers`` processes of one torch thread each (default: one per usable core): small proxies' ops are too short for
torch's intra-op threads to pay (and on a shared machine a descheduled thread stalls the other at every op), while
separate processes scale with the cores (``benchmarks/bench_train.py cpu``). On CUDA one process drives the GPU.
Bad input is one :class:`MixRunError` whose message is a single line.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mixes.run_workers import _Progress, _train_groups, default_workers

if TYPE_CHECKING:  # torch loads when runs train, not with this module
    from train.trainer import TrainConfig

RUN_FILE = "run.json"
RUNS_DIR = "runs"
METRICS_FILE = "metrics.json"
# fields of TrainConfig that change what a run computes; the rest (device placement aside, which is recorded as
# the device type) only change speed or logging
RESULT_FIELDS = ("model", "seq_len", "batch_size", "lr", "min_lr_ratio", "warmup_frac", "weight_decay", "betas",
                 "grad_clip", "eval_tokens", "attention", "tie_embeddings")
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=-]*$")


class MixRunError(ValueError):
    """Bad input to ``run_mixtures``; the message is one line."""


def _few(items, k: int = 5) -> str:
    items = [str(i) for i in items]
    return ", ".join(items[:k]) + (f", ... ({len(items)} in all)" if len(items) > k else "")


def _read_manifest(path: str, what: str) -> dict:
    manifest = os.path.join(path, "manifest.json")
    if not os.path.isfile(manifest):
        raise MixRunError(f"{what}: no shard directory at {path} (no manifest.json)")
    try:
        with open(manifest, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise MixRunError(f"{what}: unreadable {manifest}: {e}") from None


def _check_shard_dir(path: str, what: str, seq_len: int) -> dict:
    manifest = _read_manifest(path, what)
    tokens = int(manifest.get("tokens", sum(int(s.get("tokens", 0)) for s in manifest.get("shards", []))))
    if tokens == 0:
        raise MixRunError(f"{what} has no tokens ({path})")
    if all(int(s.get("tokens", 0)) <= seq_len for s in manifest.get("shards", [])):
        raise MixRunError(f"{what} has {tokens:,} tokens in {path}, no shard with one window of seq_len + 1 = "
                          f"{seq_len + 1} tokens")
    return manifest


def _fingerprint(manifest: dict) -> str:
    """The identity of a shard directory's content: its tokenizer and each shard's token count and checksum."""
    shards = [[s.get("tokens"), s.get("bin_sha256"), s.get("idx_sha256")] for s in manifest.get("shards", [])]
    blob = json.dumps([manifest.get("tokenizer", {}).get("sha256"), shards], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def check_ratios(ratios: pd.DataFrame, sources: dict[str, str]) -> pd.DataFrame:
    """The ratios as floats, checked: unique safe run ids, known sources, finite non-negative rows summing to 1."""
    if not isinstance(ratios, pd.DataFrame) or ratios.empty or len(ratios.columns) == 0:
        raise MixRunError("ratios: no runs (an empty table)")
    ids = [str(i) for i in ratios.index]
    bad = [i for i in ids if not _SAFE_ID.match(i)]
    if bad:
        raise MixRunError(f"ratios: run ids must be file-name safe (letters, digits, ._+=-): {_few(bad)}")
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise MixRunError(f"ratios: duplicate run ids: {_few(dup)}")
    unknown = [c for c in ratios.columns if c not in sources]
    if unknown:
        raise MixRunError(f"ratios name sources with no shard dir: {_few(unknown)} (sources given: "
                          f"{_few(sorted(sources), 10) or 'none'})")
    try:
        values = ratios.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise MixRunError("ratios: weights must be numbers") from None
    rows = ~np.isfinite(values).all(1) | (values < 0).any(1)
    if rows.any():
        raise MixRunError(f"ratios: weights must be finite and non-negative; runs {_few(np.array(ids)[rows])}")
    sums = values.sum(1)
    off = np.abs(sums - 1) > 1e-3
    if off.any():
        first = int(np.argmax(off))
        raise MixRunError(f"ratios: each run's weights must sum to 1; run {ids[first]} sums to {sums[first]:.4g}"
                          f" ({int(off.sum())} runs off)")
    return pd.DataFrame(values, index=ratios.index, columns=list(ratios.columns))


def _mixture(row: pd.Series) -> dict[str, float]:
    return {name: float(w) for name, w in row.items() if w > 0}


def same_mixture(stored: dict[str, float], wanted: dict[str, float]) -> bool:
    """Whether a finished run's recorded mixture is the one asked for (same sources, weights within 1e-9)."""
    return set(stored) == set(wanted) and all(abs(stored[s] - wanted[s]) <= 1e-9 for s in wanted)


def _write_json_atomic(obj, path: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _load_finished(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except ValueError:
        return None  # a torn file (it cannot be: written by rename) is treated as a run to redo


def _run_record(config: TrainConfig, token_budget: int, seed: int, device_type: str, evals: dict[str, str],
                fingerprints: dict[str, str]) -> dict:
    settings = asdict(config)
    return {"train_config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()
                             if k in RESULT_FIELDS},
            "token_budget": int(token_budget), "seed": int(seed), "device_type": device_type,
            "evals": sorted(evals), "sources": fingerprints}


def _check_record(out_dir: str, record: dict) -> dict:
    """Merge ``record`` with the folder's ``run.json``; refuse a folder whose runs were trained differently."""
    from train.trainer import TrainConfig

    path = os.path.join(out_dir, RUN_FILE)
    old = _load_finished(path)
    if old is None:
        return record
    where = f"{out_dir} holds runs trained with"
    # a field added to TrainConfig after a folder's runs were recorded had its default value in them
    defaults = _run_record(TrainConfig(), 0, 0, "", {}, {})["train_config"]
    old = {**old, "train_config": {**defaults, **old.get("train_config", {})}}
    for key, label in (("train_config", "another training config"), ("token_budget", "another token budget"),
                       ("seed", "another seed"), ("device_type", "another device type")):
        if old.get(key) != record[key]:
            if key == "train_config":
                diff = sorted(k for k in set(old[key]) | set(record[key]) if old[key].get(k) != record[key].get(k))
                detail = ", ".join(f"{k} {old[key].get(k)!r} -> {record[key].get(k)!r}" for k in diff)
            else:
                detail = f"{old.get(key)!r} -> {record[key]!r}"
            raise MixRunError(f"{where} {label} ({detail}): use another out dir, or delete it to start again")
    if old.get("evals") != record["evals"]:
        raise MixRunError(f"{where} other eval sets ({_few(old.get('evals', []))} -> {_few(record['evals'])}): "
                          "use another out dir, or delete it to start again")
    changed = [s for s, fp in record["sources"].items() if s in old.get("sources", {}) and old["sources"][s] != fp]
    if changed:
        raise MixRunError(f"{where} other shards of sources {_few(changed)} (their content changed): use another "
                          "out dir, or delete it to start again")
    merged = dict(old)
    merged["sources"] = {**old.get("sources", {}), **record["sources"]}
    return merged


def _row(run_id, metrics: dict, evals: list[str]) -> dict:
    row = {"run": run_id}
    for name in evals:
        row[f"loss/{name}"] = metrics["eval"][name]["loss"]
    for name in evals:
        row[f"bpb/{name}"] = metrics["eval"][name]["bits_per_byte"]
    row.update(seed=metrics["seed"], tokens_trained=metrics["tokens_trained"], params=metrics["params"],
               train_seconds=metrics["train_seconds_share"])
    return row


def _groups(items: list, k: int) -> list[list]:
    """``items`` in consecutive groups of at most ``k``, as even in size as possible."""
    n_groups = math.ceil(len(items) / k)
    bounds = np.linspace(0, len(items), n_groups + 1).round().astype(int)
    return [items[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


_worker_progress = None  # a worker process's queue for (group, steps done, steps)


def run_mixtures(ratios: pd.DataFrame, sources: dict[str, str], evals: dict[str, str], config: TrainConfig,
                 token_budget: int, seed: int, out_dir: str, swarm_size: int | None = None,
                 progress: bool = True, workers: int | None = None) -> pd.DataFrame:
    """Train one proxy per row of ``ratios`` (index: run id; one column per source; rows sum to 1) on ``sources``
    (name -> shard dir), evaluate on ``evals`` (name -> shard dir), K runs at a time (``swarm_size``; None: chosen
    for the device); finished runs in ``out_dir`` are read back, not retrained. ``workers``: processes training
    swarms at once (None: one per CPU core on the CPU, one on CUDA). Returns the ``metrics`` table (module doc)."""
    if token_budget <= 0:
        raise MixRunError(f"token budget must be positive, got {token_budget}")
    if not evals:
        raise MixRunError("no eval set given")
    if swarm_size is not None and swarm_size < 1:
        raise MixRunError(f"swarm size must be at least 1, got {swarm_size}")
    if workers is not None and workers < 1:
        raise MixRunError(f"workers must be at least 1, got {workers}")
    if config.attention != "matmul":
        raise MixRunError("proxy runs train as a swarm, which needs attention='matmul'")
    ratios = check_ratios(ratios, sources)
    used = [c for c in ratios.columns if (ratios[c] > 0).any()]
    manifests = {s: _check_shard_dir(sources[s], f"source {s!r}", config.seq_len) for s in used}
    eval_manifests = {e: _check_shard_dir(path, f"eval set {e!r}", config.seq_len) for e, path in evals.items()}
    tokenizers = {json.dumps(m.get("tokenizer", {}).get("sha256")) for m in [*manifests.values(),
                                                                              *eval_manifests.values()]}
    if len(tokenizers) != 1:
        raise MixRunError("sources and eval sets were tokenized with different tokenizers")
    if token_budget < config.batch_size * config.seq_len:
        raise MixRunError(f"token budget {token_budget:,} is less than one batch ({config.batch_size} x "
                          f"{config.seq_len} tokens)")
    from train.model import SHAPES

    if config.model not in SHAPES:
        raise MixRunError(f"unknown proxy model {config.model!r}; choose one of {_few(sorted(SHAPES), 20)}")

    from train.swarm import auto_swarm_size
    from train.trainer import resolve_device

    device = resolve_device(config.device)
    record = _run_record(config, token_budget, seed, device.type, evals,
                         {s: _fingerprint(m) for s, m in manifests.items()})
    os.makedirs(os.path.join(out_dir, RUNS_DIR), exist_ok=True)
    record = _check_record(out_dir, record)
    _write_json_atomic(record, os.path.join(out_dir, RUN_FILE))

    eval_names = list(evals)
    ids = list(ratios.index)
    finished: dict = {}
    for run_id in ids:
        metrics = _load_finished(os.path.join(out_dir, RUNS_DIR, str(run_id), METRICS_FILE))
        if metrics is None:
            continue
        if not same_mixture(metrics.get("mixture", {}), _mixture(ratios.loc[run_id])):
            raise MixRunError(f"run {run_id} in {out_dir} was trained on another mixture than the ratios give it: "
                              "use another out dir, or delete it to start again")
        finished[run_id] = metrics
    pending = [r for r in ids if r not in finished]
    if pending:
        from train.trainer import open_sources

        if swarm_size is None:
            try:
                _, _, vocab_size = open_sources({s: sources[s] for s in used}, {}, config.seq_len)
            except ValueError as e:
                raise MixRunError(str(e).splitlines()[0]) from None
            swarm_size = auto_swarm_size(config, vocab_size, device, len(pending))
        groups = _groups(pending, swarm_size)
        if workers is None:
            workers = default_workers(device.type, len(groups))
        workers = 1 if device.type != "cpu" else min(workers, len(groups))
        used_sources = {s: sources[s] for s in used}
        jobs = [([_mixture(ratios.loc[r]) for r in group], used_sources, evals, config, token_budget, seed)
                for group in groups]
        bar = _Progress(len(ids), len(finished), progress)

        def on_progress(fractions: dict[int, float]) -> None:
            bar.update(len(finished), sum(len(groups[i]) * f for i, f in fractions.items()))

        try:
            for index, results in _train_groups(jobs, workers, on_progress):
                for run_id, metrics in zip(groups[index], results):
                    metrics["run"] = str(run_id)
                    metrics["train_seconds_share"] = metrics["train_seconds"] / len(results)
                    _write_json_atomic(metrics, os.path.join(out_dir, RUNS_DIR, str(run_id), METRICS_FILE))
                    finished[run_id] = metrics
                bar.update(len(finished))
        except ValueError as e:
            raise MixRunError(str(e).splitlines()[0]) from None
        finally:
            bar.close()
    table = pd.DataFrame([_row(r, finished[r], eval_names) for r in ids]).set_index("run")
    return table
