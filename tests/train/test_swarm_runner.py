"""``mixes.run.run_mixtures`` end to end on tiny shards of real text: the metrics table, resuming after a kill,
refusing a folder trained differently, progress lines, and one-line errors."""
import json
import os
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from mixes.run import MixRunError, run_mixtures
from train.swarm import CPU_SWARM_SIZE, auto_swarm_size
from train.text_shards import build_source_shards, corpus_texts, write_text_shards
from train.trainer import TrainConfig

torch.set_num_threads(1)

SOURCES = ["web", "code", "books"]
CONFIG = TrainConfig(model="tiny", seq_len=32, batch_size=4, lr=3e-3, eval_tokens=1024, log_every=2, device="cpu")
BUDGET = 4096  # 32 steps per run


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    """Per-source train and held-out shard dirs from ~80 KB of real text per source (a 384-token BPE)."""
    root = tmp_path_factory.mktemp("pool")
    texts, _ = corpus_texts(80_000, 20_000, SOURCES, scratch_dir=str(root))
    sources, evals = build_source_shards(texts, str(root / "shards"), 384)
    return root, sources, evals


def ratios_table(n: int, seed: int = 0, names=SOURCES) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = rng.dirichlet(np.ones(len(names)), size=n)
    rows[0] = np.eye(len(names))[0]  # a single-source run (zero weights elsewhere)
    return pd.DataFrame(rows, index=[f"r{i:02d}" for i in range(n)], columns=names)


def test_metrics_table_resume_and_refusals(pool, tmp_path):
    _, sources, evals = pool
    ratios = ratios_table(5)
    out = str(tmp_path / "swarm")
    # three swarms (2, 1, 2 runs) in two worker processes
    first = run_mixtures(ratios, sources, evals, CONFIG, BUDGET, seed=0, out_dir=out, swarm_size=2, progress=True,
                         workers=2)
    assert first.index.name == "run" and list(first.index) == list(ratios.index)
    expected = [f"loss/{e}" for e in evals] + [f"bpb/{e}" for e in evals] + ["seed", "tokens_trained", "params",
                                                                              "train_seconds"]
    assert list(first.columns) == expected
    assert (first["seed"] == 0).all() and (first["tokens_trained"] == BUDGET).all()
    assert first[[f"loss/{e}" for e in evals]].notna().all().all()
    for run_id, row in ratios.iterrows():
        metrics = json.loads((tmp_path / "swarm" / "runs" / run_id / "metrics.json").read_text())
        assert metrics["mixture"] == {s: w for s, w in row.items() if w > 0}
        assert len(metrics["train_loss"]) >= 10  # the loss curve is kept for the report
        assert metrics["swarm_size"] in (1, 2)
    record = json.loads((tmp_path / "swarm" / "run.json").read_text())
    assert record["token_budget"] == BUDGET and record["seed"] == 0 and record["evals"] == sorted(evals)

    # a kill mid-swarm leaves a run folder without metrics.json: only that run is trained again
    runs = tmp_path / "swarm" / "runs"
    (runs / "r03" / "metrics.json").unlink()
    stamps = {r: os.stat(runs / r / "metrics.json").st_mtime_ns for r in ratios.index if r != "r03"}
    second = run_mixtures(ratios, sources, evals, CONFIG, BUDGET, seed=0, out_dir=out, swarm_size=None,
                          progress=False)
    assert {r: os.stat(runs / r / "metrics.json").st_mtime_ns for r in stamps} == stamps
    assert (runs / "r03" / "metrics.json").exists()
    assert json.loads((runs / "r03" / "metrics.json").read_text())["swarm_size"] == 1  # trained alone this time
    # trained in a swarm of 2 first, alone now: the same model (swarm members equal their solo runs)
    losses = [c for c in first.columns if c.startswith("loss/")]
    assert np.abs(second[losses].to_numpy() - first[losses].to_numpy()).max() <= 1e-4
    # nothing left to train: no run file is touched
    stamps["r03"] = os.stat(runs / "r03" / "metrics.json").st_mtime_ns
    third = run_mixtures(ratios, sources, evals, CONFIG, BUDGET, seed=0, out_dir=out, progress=False)
    assert {r: os.stat(runs / r / "metrics.json").st_mtime_ns for r in stamps} == stamps
    pd.testing.assert_frame_equal(third, second)

    # a folder trained with another seed, budget, config, eval sets or mixture is refused, naming what differs
    with pytest.raises(MixRunError, match="another seed"):
        run_mixtures(ratios, sources, evals, CONFIG, BUDGET, seed=1, out_dir=out, progress=False)
    with pytest.raises(MixRunError, match="another token budget"):
        run_mixtures(ratios, sources, evals, CONFIG, 2 * BUDGET, seed=0, out_dir=out, progress=False)
    with pytest.raises(MixRunError, match=r"another training config \(lr 0.003 -> 0.001\)"):
        run_mixtures(ratios, sources, evals, replace(CONFIG, lr=1e-3), BUDGET, seed=0, out_dir=out,
                     progress=False)
    with pytest.raises(MixRunError, match="other eval sets"):
        run_mixtures(ratios, sources, {"web": evals["web"]}, CONFIG, BUDGET, seed=0, out_dir=out, progress=False)
    changed = ratios.copy()
    changed.loc["r01"] = [0.5, 0.5, 0.0]
    with pytest.raises(MixRunError, match="run r01 .* another mixture"):
        run_mixtures(changed, sources, evals, CONFIG, BUDGET, seed=0, out_dir=out, progress=False)
    with pytest.raises(MixRunError, match=r"another training config \(tie_embeddings True -> False\)"):
        run_mixtures(ratios, sources, evals, replace(CONFIG, tie_embeddings=False), BUDGET, seed=0, out_dir=out,
                     progress=False)
    # what does not change a result (speed, logging, the swarm implementation) may differ
    run_mixtures(ratios, sources, evals, replace(CONFIG, swarm_impl="vmap", log_every=7), BUDGET, seed=0,
                 out_dir=out, progress=False)
    # a folder recorded before a TrainConfig field existed ran with its default: it resumes, and its runs are kept
    record = json.loads((tmp_path / "swarm" / "run.json").read_text())
    del record["train_config"]["tie_embeddings"]
    (tmp_path / "swarm" / "run.json").write_text(json.dumps(record))
    stamps = {r: os.stat(runs / r / "metrics.json").st_mtime_ns for r in ratios.index}
    run_mixtures(ratios, sources, evals, CONFIG, BUDGET, seed=0, out_dir=out, progress=False)
    assert {r: os.stat(runs / r / "metrics.json").st_mtime_ns for r in stamps} == stamps


def test_progress_lines_when_not_a_terminal(pool, tmp_path, capsys):
    _, sources, evals = pool
    run_mixtures(ratios_table(3, seed=1), sources, evals, CONFIG, 1024, seed=0, out_dir=str(tmp_path / "s"),
                 swarm_size=2, workers=1)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("runs ")]
    assert lines[-1].startswith("runs 3/3, ETA ")
    assert any(line.startswith("runs 2/3, ETA ") for line in lines)


def test_bad_input_is_one_clear_line(pool, tmp_path):
    root, sources, evals = pool
    ratios = ratios_table(2)
    out = str(tmp_path / "bad")

    def error(**kwargs) -> str:
        args = dict(ratios=ratios, sources=sources, evals=evals, config=CONFIG, token_budget=BUDGET, seed=0,
                    out_dir=out, progress=False)
        args.update(kwargs)
        with pytest.raises(MixRunError) as e:
            run_mixtures(**args)
        message = str(e.value)
        assert "\n" not in message
        return message

    assert "ratios name sources with no shard dir: books" in error(sources={s: sources[s] for s in ("web", "code")})
    assert "source 'code': no shard directory at /nowhere" in error(sources={**sources, "code": "/nowhere"})
    empty = str(tmp_path / "empty")
    write_text_shards([], str(root / "shards" / "tokenizer.json"), _info(sources["web"]), empty, "code")
    assert "source 'code' has no tokens" in error(sources={**sources, "code": empty})
    assert f"eval set 'wiki': no shard directory at {tmp_path}/missing" in \
        error(evals={**evals, "wiki": str(tmp_path / "missing")})
    assert "sums to 0.5" in error(ratios=ratios * 0.5)
    assert "finite and non-negative" in error(ratios=ratios.assign(web=-ratios["web"]))
    assert "duplicate run ids: r00" in error(ratios=pd.concat([ratios, ratios.iloc[:1]]))
    assert "file-name safe" in error(ratios=ratios.set_axis(["a/b", "c"]))
    assert "less than one batch" in error(token_budget=10)
    assert "unknown proxy model 'huge'" in error(config=replace(CONFIG, model="huge"))
    assert "no eval set" in error(evals={})
    assert not os.path.exists(out)  # refused before anything was written


def _info(shard_dir):
    from curation.shards.tokenizer import TokenizerInfo

    with open(os.path.join(shard_dir, "manifest.json")) as f:
        tok = json.load(f)["tokenizer"]
    return TokenizerInfo(sha256=tok["sha256"], vocab_size=tok["vocab_size"], eos_id=tok["eos_id"],
                         eos_token=tok["eos_token"])


def test_cpu_swarm_size_is_the_measured_default():
    assert auto_swarm_size(CONFIG, 384, torch.device("cpu"), 100) == CPU_SWARM_SIZE
    assert auto_swarm_size(CONFIG, 384, torch.device("cpu"), 3) == 3


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@CUDA
@pytest.mark.gpu
def test_cuda_run_uses_the_gpu_with_a_swarm_size_from_free_memory(pool, tmp_path):
    _, sources, evals = pool
    config = replace(CONFIG, device="auto")
    k = auto_swarm_size(config, 384, torch.device("cuda"), 10_000)
    assert k > 16  # a tiny proxy: hundreds fit on any data-centre GPU
    table = run_mixtures(ratios_table(6), sources, evals, config, BUDGET, seed=0, out_dir=str(tmp_path / "g"),
                         progress=False)
    metrics = json.loads((tmp_path / "g" / "runs" / "r00" / "metrics.json").read_text())
    assert metrics["device"].startswith("cuda") and metrics["swarm_size"] == 6
    assert table["loss/web"].notna().all()
