"""The batched-matmul swarm (``swarm_impl="bmm"``) and vmap swarm against solo runs on real text, and the vectorised
batch building (``TokenBank``, ``MixtureSampler.next_starts``) against a window-by-window reference."""
import zlib
from dataclasses import replace

import numpy as np
import pytest
import torch

from curation.shards.tokenizer import TokenizerInfo
from curation.shards.writer import ShardDoc, write_shard_dir
from train.shard_reader import MixtureSampler, ShardDataset, TokenBank
from train.swarm import train_swarm
from train.text_shards import build_source_shards, corpus_texts
from train.trainer import TrainConfig, load_checkpoint, train_proxy

torch.set_num_threads(1)

SOURCES = ["web", "code", "books", "wiki"]
TINY = TrainConfig(model="tiny", seq_len=64, batch_size=8, lr=2e-3, eval_tokens=2048, log_every=5, device="cpu")
# the existing swarm test's tolerance: eval loss (nats) and every weight within 1e-4 of the solo run
SWARM_TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    root = tmp_path_factory.mktemp("pool")
    texts, _ = corpus_texts(100_000, 30_000, SOURCES, scratch_dir=str(root))
    return build_source_shards(texts, str(root / "shards"), 512)


def test_bmm_and_vmap_swarms_match_solo_runs(pool, tmp_path):
    sources, evals = pool
    names = list(sources)
    rng = np.random.default_rng(0)
    mixtures = [dict(zip(names, rng.dirichlet(np.ones(len(names))).tolist())) for _ in range(3)]
    mixtures += [{names[1]: 1.0}, {names[0]: 0.5, names[2]: 0.5}]
    budget = 16_384  # 32 steps
    swarms = {impl: train_swarm(mixtures, sources, evals, replace(TINY, swarm_impl=impl), budget, seed=1,
                                out_dir=str(tmp_path / impl)) for impl in ("bmm", "vmap")}
    worst = {impl: [0.0, 0.0] for impl in swarms}
    for k, mixture in enumerate(mixtures):
        solo = train_proxy(mixture, sources, evals, TINY, budget, seed=1, out_dir=str(tmp_path / f"solo{k}"))
        solo_state = load_checkpoint(str(tmp_path / f"solo{k}" / "model.safetensors")).state_dict()
        for impl, swarm in swarms.items():
            assert swarm[k]["swarm_impl"] == impl
            for name in evals:
                worst[impl][0] = max(worst[impl][0], abs(swarm[k]["eval"][name]["loss"] - solo["eval"][name]["loss"]))
            member = load_checkpoint(str(tmp_path / impl / f"member-{k:03d}" / "model.safetensors")).state_dict()
            for name, p in solo_state.items():
                worst[impl][1] = max(worst[impl][1], (p - member[name]).abs().max().item())
    print({impl: f"eval loss {a:.1e}, weight {b:.1e}" for impl, (a, b) in worst.items()})
    for impl, (loss_diff, weight_diff) in worst.items():
        assert loss_diff <= SWARM_TOLERANCE and weight_diff <= SWARM_TOLERANCE, impl
    # the members learned different things: the single-source member is best on its source
    single = swarms["bmm"][3]["eval"][names[1]]["loss"]
    assert single < min(m["eval"][names[1]]["loss"] for i, m in enumerate(swarms["bmm"]) if i != 3)


def test_untied_output_layer_trains_the_same_in_a_swarm_and_alone(pool, tmp_path):
    """With ``tie_embeddings=False`` the output layer is a matrix of its own; the bmm swarm (its fused CPU loss
    included) and the vmap swarm train it as a solo run does."""
    sources, evals = pool
    names = list(sources)
    config = replace(TINY, tie_embeddings=False)
    mixtures = [{names[0]: 1.0}, {names[1]: 0.3, names[2]: 0.7}]
    budget = 8_192  # 16 steps
    solos = [train_proxy(m, sources, evals, config, budget, seed=2, out_dir=str(tmp_path / f"solo{k}"))
             for k, m in enumerate(mixtures)]
    for impl in ("bmm", "vmap"):
        swarm = train_swarm(mixtures, sources, evals, replace(config, swarm_impl=impl), budget, seed=2,
                            out_dir=str(tmp_path / impl))
        for k, solo in enumerate(solos):
            solo_state = load_checkpoint(str(tmp_path / f"solo{k}" / "model.safetensors")).state_dict()
            member = load_checkpoint(str(tmp_path / impl / f"member-{k:03d}" / "model.safetensors")).state_dict()
            assert set(member) == set(solo_state) and "lm_head.weight" in member
            assert max((solo_state[n] - member[n]).abs().max().item() for n in solo_state) <= SWARM_TOLERANCE, impl
            for name in evals:
                assert abs(swarm[k]["eval"][name]["loss"] - solo["eval"][name]["loss"]) <= SWARM_TOLERANCE, impl
    # the output layer trained apart from the input embeddings
    state = load_checkpoint(str(tmp_path / "solo0" / "model.safetensors")).state_dict()
    assert not torch.allclose(state["lm_head.weight"], state["tok_emb.weight"])


def test_unknown_swarm_impl_is_refused(pool):
    sources, evals = pool
    with pytest.raises(ValueError, match="swarm_impl must be one of"):
        train_swarm([{"web": 1.0}], sources, evals, replace(TINY, swarm_impl="streams"), 1024, seed=0)


# ---- batches ----

INFO = TokenizerInfo(sha256="synthetic", vocab_size=5000, eos_id=0, eos_token="<eos>")


def random_shards(root, names=("a", "b", "c"), shard_tokens=3000):
    rng = np.random.default_rng(0)
    out = {}
    for name in names:
        docs = [ShardDoc(name, rng.integers(1, 5000, n).astype(np.uint16), int(n)) for n in rng.integers(5, 900, 30)]
        write_shard_dir(str(root / name), docs, INFO, shard_tokens, {})
        out[name] = str(root / name)
    return out


class ReferenceSampler:
    """The sampler as specified, one window at a time: a source per window from one generator, each source's
    windows in a seeded permutation per pass."""

    def __init__(self, sources, weights, batch_size, seed):
        self.names = sorted(n for n, w in weights.items() if w > 0)
        total = sum(weights[n] for n in self.names)
        self.probs = np.array([weights[n] / total for n in self.names])
        self.datasets = [sources[n] for n in self.names]
        self.batch_size = batch_size
        self.source_rng = np.random.default_rng([seed, 0])
        self.order_rngs = [np.random.default_rng([seed, zlib.crc32(n.encode())]) for n in self.names]
        self.orders = [np.empty(0, dtype=np.int64) for _ in self.names]
        self.positions = [0] * len(self.names)

    def next_batch(self):
        picks = self.source_rng.choice(len(self.names), size=self.batch_size, p=self.probs)
        rows = []
        for s in picks:
            if self.positions[s] == len(self.orders[s]):
                self.orders[s] = self.order_rngs[s].permutation(len(self.datasets[s]))
                self.positions[s] = 0
            rows.append(self.datasets[s][int(self.orders[s][self.positions[s]])])
            self.positions[s] += 1
        return torch.stack(rows)


@pytest.mark.parametrize("seq_len", [7, 64])
def test_vectorised_batches_equal_the_window_by_window_reference(tmp_path, seq_len):
    dirs = random_shards(tmp_path)
    datasets = {n: ShardDataset(d, seq_len) for n, d in dirs.items()}
    assert all(len(ds.shards) > 1 for ds in datasets.values())  # windows from several shards per source
    weights = {"a": 0.2, "b": 0.5, "c": 0.3}
    reference = ReferenceSampler(datasets, weights, 16, seed=3)
    resident = MixtureSampler(datasets, weights, 16, seed=3)
    mapped = MixtureSampler(datasets, weights, 16, seed=3, bank=TokenBank(datasets, max_bytes=0))
    assert resident.bank.resident and not mapped.bank.resident
    for _ in range(60):  # several passes over every source
        expected = reference.next_batch()
        assert torch.equal(resident.next_batch(), expected)
        assert torch.equal(mapped.next_batch(), expected)
    ds = datasets["b"]
    everything = np.arange(len(ds))
    assert torch.equal(ds.batch(everything), torch.stack([ds[int(i)] for i in everything]))


def test_a_swarm_step_is_one_gather(tmp_path):
    dirs = random_shards(tmp_path)
    datasets = {n: ShardDataset(d, 16) for n, d in dirs.items()}
    bank = TokenBank(datasets)
    samplers = [MixtureSampler(datasets, w, 4, seed=0, bank=bank) for w in ({"a": 1}, {"b": 1, "c": 1})]
    solo = [MixtureSampler(datasets, w, 4, seed=0) for w in ({"a": 1}, {"b": 1, "c": 1})]
    windows = bank.gather(np.stack([s.next_starts() for s in samplers]))
    assert windows.shape == (2, 4, 17) and windows.dtype == torch.int64
    assert torch.equal(windows[0], solo[0].next_batch()) and torch.equal(windows[1], solo[1].next_batch())


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@CUDA
@pytest.mark.gpu
def test_cuda_bank_builds_the_same_batches_on_the_gpu(tmp_path):
    dirs = random_shards(tmp_path)
    datasets = {n: ShardDataset(d, 32) for n, d in dirs.items()}
    weights = {"a": 0.2, "b": 0.5, "c": 0.3}
    on_gpu = MixtureSampler(datasets, weights, 16, seed=3, bank=TokenBank(datasets, "cuda"))
    mapped = MixtureSampler(datasets, weights, 16, seed=3, bank=TokenBank(datasets, "cuda", max_bytes=0))
    cpu = MixtureSampler(datasets, weights, 16, seed=3)
    assert on_gpu.bank.resident and not mapped.bank.resident
    for _ in range(20):
        expected = cpu.next_batch()
        a, b = on_gpu.next_batch(), mapped.next_batch()
        assert a.is_cuda and b.is_cuda
        assert torch.equal(a.cpu(), expected) and torch.equal(b.cpu(), expected)


@CUDA
@pytest.mark.gpu
@pytest.mark.parametrize("impl", ["bmm", "vmap"])
def test_cuda_bf16_swarm_matches_solo_runs(pool, impl):
    sources, evals = pool
    config = replace(TINY, device="cuda", swarm_impl=impl)
    mixtures = [{"web": 1.0}, {"code": 0.5, "books": 0.5}, {"wiki": 1.0}]
    swarm = train_swarm(mixtures, sources, evals, config, 20_000, seed=0)
    assert swarm[0]["peak_memory_bytes"] > 0 and swarm[0]["steady_tokens_per_second"] > 0
    for mixture, member in zip(mixtures, swarm):
        solo = train_proxy(mixture, sources, evals, config, 20_000, seed=0)
        # bf16 autocast: batched and single matmuls round differently, so the tolerance is bf16-sized
        for name, r in solo["eval"].items():
            assert member["eval"][name]["loss"] == pytest.approx(r["loss"], abs=0.02)


@CUDA
@pytest.mark.gpu
def test_cuda_compiled_bmm_swarm_trains_like_the_eager_one(pool):
    sources, evals = pool
    config = replace(TINY, device="cuda", swarm_impl="bmm")
    mixtures = [{"web": 1.0}, {"web": 0.5, "code": 0.5}]
    eager = train_swarm(mixtures, sources, evals, config, 10_000, seed=0)
    compiled = train_swarm(mixtures, sources, evals, replace(config, compile=True), 10_000, seed=0)
    for a, b in zip(eager, compiled):
        for name in evals:
            assert b["eval"][name]["loss"] == pytest.approx(a["eval"][name]["loss"], abs=0.02)
