"""The search spec, the pool and the whole ``curate mix tune`` loop on tiny shards of real text: the tuned mix file
is what the shards stage reads, the report has its plots, a rerun trains nothing, and bad input is one line."""
import os
import shutil

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from typer.testing import CliRunner

from curation.shards.mixing import load_mix
from mixes.cli import app
from mixes.pool import open_pool, weight_bounds
from mixes.spec import MixSpecError, load_mix_spec
from mixes.tune import tune
from tests.paths import REPO
from train.text_shards import build_source_shards, corpus_texts

torch.set_num_threads(1)
SOURCES = ["web", "code", "books"]


@pytest.fixture(scope="module")
def pool_dir(tmp_path_factory):
    """A shards stage's artifacts layout (sources/<s>/, eval/<s>/) from ~60 KB of real text per source."""
    root = tmp_path_factory.mktemp("pool")
    texts, _ = corpus_texts(60_000, 15_000, SOURCES, scratch_dir=str(root))
    built, _ = build_source_shards(texts, str(root / "artifacts"), 384)
    os.makedirs(root / "artifacts" / "sources")
    for name, path in built.items():
        shutil.move(path, root / "artifacts" / "sources" / name)
    return root / "artifacts"


def write_spec(folder, pool_dir, **changes) -> str:
    doc = {"name": "tiny-mix", "out": "out", "pool": str(pool_dir), "final_tokens": 20_000, "max_repetition": 2,
           "proxy": {"model": "tiny", "seq_len": 32, "batch_size": 4, "lr": 0.01, "tokens": 2048,
                     "eval_tokens": 512},
           "swarm": {"runs": 8, "seed": 0, "size": 4},
           "optimize": {"search_candidates": 2000, "top_k": 20},
           "validate": {"seeds": [11, 12]}}
    for key, value in changes.items():
        doc[key] = value
    path = os.path.join(folder, "search.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(doc, f)
    return path


def test_tune_end_to_end_and_resume(pool_dir, tmp_path):
    spec = load_mix_spec(write_spec(tmp_path, pool_dir))
    assert spec.out == str(tmp_path / "out")  # relative to the spec file
    lines: list[str] = []
    result = tune(spec, log=lines.append)

    mix = load_mix(result.mix_file)  # the shards stage reads the tuned file unchanged
    assert set(mix.weights) == set(SOURCES) and abs(sum(mix.weights.values()) - 1) < 1e-9
    pool = open_pool(spec)
    _, hi = weight_bounds(spec, pool)
    assert all(mix.weights[s] <= hi[s] + 1e-4 for s in SOURCES)  # caps w <= E * T / R hold
    assert mix.total_tokens == 20_000 and mix.provenance["regressor"] in ("linear", "loglinear", "lightgbm")

    metrics = pd.read_csv(tmp_path / "out" / "metrics.csv", index_col="run")
    assert len(metrics) == 8 + 3 and metrics["objective"].notna().all()
    assert list(result.validation.index) == ["tuned", "natural", "uniform", result.validation.index[3]]
    assert result.validation.index[3].startswith("best_swarm_r")
    html = open(result.report, encoding="utf-8").read()
    assert html.count("data:image/png;base64,") == 5  # predicted vs actual, weights, effects, validation, curves
    assert any(line.startswith("fit: using") for line in lines)
    assert any(line.startswith("validate: uniform minus tuned: ") and "std of the paired difference" in line
               for line in lines)

    # a rerun trains nothing: every proxy's metrics.json is left as it is
    runs = [os.path.join(d, f) for d, _, fs in os.walk(tmp_path / "out") for f in fs if f == "metrics.json"]
    stamps = {p: os.stat(p).st_mtime_ns for p in runs}
    again = tune(load_mix_spec(write_spec(tmp_path, pool_dir)), log=lambda _: None)
    assert {p: os.stat(p).st_mtime_ns for p in runs} == stamps
    assert again.weights == result.weights

    # another optimizer setting moves the tuned mix: its validation runs are retrained, the baselines' are kept
    said: list[str] = []
    moved = tune(load_mix_spec(write_spec(tmp_path, pool_dir), ["optimize.kl_penalty=5"]), log=said.append)
    assert moved.weights != result.weights
    assert sum("the tuned mix changed" in line for line in said) == len(spec.validate_runs.seeds)
    tuned_runs = [p for p in stamps if f"{os.sep}validate{os.sep}" in p and f"{os.sep}tuned{os.sep}" in p]
    kept = {p: t for p, t in stamps.items() if p not in tuned_runs}
    assert {p: os.stat(p).st_mtime_ns for p in kept} == kept

    # the same folder with other proposals is refused rather than mixed with the first swarm
    with pytest.raises(MixSpecError, match="other mixtures"):
        tune(load_mix_spec(write_spec(tmp_path, pool_dir), ["swarm.runs=9"]), log=lambda _: None)


@pytest.mark.parametrize("changes, message", [
    ({"sources": ["web", "poetry"]}, "unknown source.*poetry"),
    ({"evals": {"news": 1.0}}, "unknown eval set.*news"),
    ({"final_tokens": 10_000_000}, "cannot fill final_tokens"),
    ({"max_repetition": {"books": 0.1, "code": 2, "web": 2}, "min_weight": {"books": 0.5}},
     "min_weight 0.5 is above its cap"),
    ({"min_weight": {"books": 0.7, "web": 0.7}}, "min_weight values sum to 1.400"),
    ({"pool": "/nonexistent/pool"}, "pool folder not found"),
])
def test_bad_specs_fail_with_one_line(pool_dir, tmp_path, changes, message):
    path = write_spec(tmp_path, pool_dir, **changes)
    with pytest.raises(MixSpecError, match=message):
        spec = load_mix_spec(path)
        weight_bounds(spec, open_pool(spec))
    result = CliRunner().invoke(app, ["tune", path])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and result.output.startswith("error: ")


def test_spec_validation_names_the_key(tmp_path, pool_dir):
    with pytest.raises(MixSpecError, match="proxy.modle"):
        load_mix_spec(write_spec(tmp_path, pool_dir, proxy={"modle": "tiny"}))
    with pytest.raises(MixSpecError, match="name"):
        load_mix_spec(write_spec(tmp_path, pool_dir, name="../escape"))
    spec = load_mix_spec(write_spec(tmp_path, pool_dir), ["out=elsewhere"])
    assert spec.out == os.path.join(os.getcwd(), "elsewhere")  # an override is relative to the working directory


def test_paired_margins_compare_each_mixture_with_the_tuned_one_seed_by_seed():
    from mixes.tune import OBJECTIVE, paired_margins

    runs = pd.DataFrame({"seed": [1, 1, 2, 2, 3, 3], OBJECTIVE: [5.0, 5.1, 5.2, 5.28, 4.9, 5.03]},
                        index=pd.Index(["tuned", "uniform"] * 3))
    row = paired_margins(runs).loc["uniform"]
    diffs = np.array([0.1, 0.08, 0.13])
    assert np.isclose(row["mean"], diffs.mean()) and np.isclose(row["std"], diffs.std(ddof=1))
    assert np.isclose(row["margin"], diffs.mean() / diffs.std(ddof=1))


@pytest.mark.parametrize("name", sorted(os.listdir(os.path.join(REPO, "mixes", "searches"))))
def test_shipped_search_specs_validate(name):
    spec = load_mix_spec(os.path.join(REPO, "mixes", "searches", name))
    # each names where its tuned mix goes and a pool inside the repository's runs/ folder
    assert spec.mix_file and os.path.commonpath([spec.pool, str(REPO)]) == str(REPO)
    if spec.evals is not None:
        assert sum(spec.evals.values()) > 0


@pytest.mark.parametrize("name", sorted(f for f in os.listdir(os.path.join(REPO, "mixes")) if f.endswith(".yaml")))
def test_shipped_mix_files_are_what_the_shards_stage_reads(name):
    mix = load_mix(os.path.join(REPO, "mixes", name))
    assert abs(sum(mix.weights.values()) - 1) < 1e-3 and all(w >= 0 for w in mix.weights.values())


def test_objective_label_names_the_sets_that_weigh():
    from mixes.pool import Pool

    equal = Pool(sources={}, tokens={}, evals={}, objective={"code": 0.5, "web": 0.5})
    assert equal.objective_label() == "mean loss over code, web"
    one = Pool(sources={}, tokens={}, evals={}, objective={"code": 0.0, "web": 1.0, "wiki": 0.0})
    assert one.objective_label() == "mean loss over web"
    weighted = Pool(sources={}, tokens={}, evals={}, objective={"code": 0.25, "web": 0.75})
    assert weighted.objective_label() == "weighted mean loss: 0.25 x code, 0.75 x web"
