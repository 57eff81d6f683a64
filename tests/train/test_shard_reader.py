"""Shard reader: windows over memory-mapped shards, and the seeded mixture sampler (synthetic token ids)."""
import numpy as np
import pytest
import torch

from curation.shards.tokenizer import TokenizerInfo
from curation.shards.writer import ShardDoc, write_shard_dir
from train.shard_reader import MixtureSampler, ShardDataset, find_eval_sets

TOKENIZER = TokenizerInfo(sha256="synthetic", vocab_size=1000, eos_id=0, eos_token="<eos>")


def write_range_shards(out_dir, source, doc_lengths, shard_tokens=1 << 20, first_token=1):
    """One document per length, tokens consecutive integers (so every window's content is predictable), each
    document's text counted as 2 bytes per token."""
    docs, start = [], first_token
    for n in doc_lengths:
        docs.append(ShardDoc(source, np.arange(start, start + n, dtype=TOKENIZER.dtype), 2 * n))
        start += n
    write_shard_dir(str(out_dir), docs, TOKENIZER, shard_tokens, {"source": source})
    return str(out_dir)


def test_windows_overlap_by_one_token_and_stay_inside_their_shard(tmp_path):
    ds = ShardDataset(write_range_shards(tmp_path / "a", "a", [25, 11], shard_tokens=20), seq_len=4)
    # shard 0: (25 - 1) // 4 = 6 windows; shard 1: (11 - 1) // 4 = 2 windows
    assert len(ds) == 8
    assert ds[0].tolist() == [1, 2, 3, 4, 5]
    assert ds[1].tolist() == [5, 6, 7, 8, 9]
    assert ds[5].tolist() == [21, 22, 23, 24, 25]
    assert ds[6].tolist() == [26, 27, 28, 29, 30]  # shard 1 starts at token 26
    assert ds[7].tolist() == [30, 31, 32, 33, 34]
    assert ds[0].dtype == torch.int64
    assert ds.tokens == 36 and ds.bytes == 72


def test_manifest_token_count_mismatch_is_refused(tmp_path):
    out = write_range_shards(tmp_path / "a", "a", [20])
    (tmp_path / "a" / "shard-00000.bin").write_bytes(np.arange(10, dtype="<u2").tobytes())
    np.asarray([0, 10], dtype="<u8").tofile(tmp_path / "a" / "shard-00000.idx")
    with pytest.raises(ValueError, match="manifest says 20"):
        ShardDataset(out, seq_len=4)


def test_unigram_entropy_of_uniform_tokens_is_log_vocab(tmp_path):
    ds = ShardDataset(write_range_shards(tmp_path / "a", "a", [64]), seq_len=8)
    assert ds.unigram_entropy() == pytest.approx(np.log(64))


def test_sampler_is_seeded_and_follows_weights(tmp_path):
    sources = {"low": ShardDataset(write_range_shards(tmp_path / "low", "low", [400], first_token=1), 4),
               "high": ShardDataset(write_range_shards(tmp_path / "high", "high", [400], first_token=500), 4)}

    def draw(seed, weights, batches=50):
        sampler = MixtureSampler(sources, weights, batch_size=16, seed=seed)
        return torch.cat([sampler.next_batch() for _ in range(batches)])

    weights = {"low": 0.25, "high": 0.75}
    a, b, c = draw(0, weights), draw(0, weights), draw(1, weights)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    share_high = (a[:, 0] >= 500).float().mean().item()
    assert share_high == pytest.approx(0.75, abs=0.05)
    # a source with weight 0 is never drawn, and a single source walks through all its windows before repeating
    only_low = draw(0, {"low": 1.0, "high": 0.0}, batches=7)
    assert (only_low < 500).all()
    assert len({tuple(w.tolist()) for w in only_low[:len(sources['low'])]}) == len(sources["low"]) == 99


def test_sampler_rejects_unknown_or_empty_mixtures(tmp_path):
    sources = {"a": ShardDataset(write_range_shards(tmp_path / "a", "a", [40]), 4)}
    with pytest.raises(ValueError, match="without shards"):
        MixtureSampler(sources, {"b": 1.0}, 2, 0)
    with pytest.raises(ValueError, match="positive weight"):
        MixtureSampler(sources, {"a": 0.0}, 2, 0)


def test_find_eval_sets(tmp_path):
    write_range_shards(tmp_path / "eval" / "web", "web", [20])
    write_range_shards(tmp_path / "eval" / "code", "code", [20])
    (tmp_path / "eval" / "not-shards").mkdir()
    assert find_eval_sets(str(tmp_path)) == {"code": str(tmp_path / "eval" / "code"),
                                             "web": str(tmp_path / "eval" / "web")}
    assert find_eval_sets(str(tmp_path / "eval" / "web")) == {}
