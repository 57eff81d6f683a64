"""Read token shards (``curation/shard_format.py``) as fixed-length training windows, alone or as a weighted mixture.

A window is ``seq_len + 1`` consecutive tokens: the model reads the first ``seq_len`` and predicts the last
``seq_len``. Window ``i`` of a shard starts at token ``i * seq_len``, so neighbouring windows share one token and
every token but a shard's first is predicted exactly once per pass. Windows do not cross shard boundaries.
"""
from __future__ import annotations

import math
import os
import zlib

import numpy as np
import torch

from curation.shards.format import open_shard, read_manifest, shard_names


class ShardDataset(torch.utils.data.Dataset):
    """The windows of one shard directory, memory-mapped; item ``i`` is a LongTensor of ``seq_len + 1`` ids.

    Reads from ``manifest.json``: ``dtype``, ``tokenizer.vocab_size`` and ``shards`` (one entry per
    ``shard-NNNNN`` file pair, in order, with its ``tokens`` and ``bytes``).
    """

    def __init__(self, shard_dir: str, seq_len: int):
        self.shard_dir = shard_dir
        self.seq_len = seq_len
        self.manifest = read_manifest(shard_dir)
        self.vocab_size = int(self.manifest["tokenizer"]["vocab_size"])
        dtype = np.dtype(self.manifest["dtype"])
        self.shards = []
        for i, entry in enumerate(self.manifest["shards"]):
            bin_name, idx_name = shard_names(i)
            tokens, _ = open_shard(os.path.join(shard_dir, bin_name), os.path.join(shard_dir, idx_name), dtype)
            if len(tokens) != entry["tokens"]:
                raise ValueError(f"{shard_dir}/{bin_name}: {len(tokens)} tokens, manifest says {entry['tokens']}")
            self.shards.append(tokens)
        self.tokens = sum(len(t) for t in self.shards)
        self.bytes = sum(int(entry["bytes"]) for entry in self.manifest["shards"])
        windows_per_shard = [max(0, (len(t) - 1) // seq_len) for t in self.shards]
        self._first_window = np.concatenate([[0], np.cumsum(windows_per_shard)])
        if len(self) == 0:
            raise ValueError(f"{shard_dir} has no window of {seq_len + 1} tokens")

    def __len__(self) -> int:
        return int(self._first_window[-1])

    def __getitem__(self, i: int) -> torch.Tensor:
        shard = int(np.searchsorted(self._first_window, i, side="right")) - 1
        start = (i - int(self._first_window[shard])) * self.seq_len
        return torch.from_numpy(self.shards[shard][start:start + self.seq_len + 1].astype(np.int64))

    def batch(self, indices) -> torch.Tensor:
        return torch.stack([self[int(i)] for i in indices])

    def unigram_entropy(self) -> float:
        """Entropy (nats/token) of the directory's own token frequencies: the loss of the best context-free model."""
        counts = sum(np.bincount(t, minlength=self.vocab_size) for t in self.shards)
        p = counts[counts > 0] / counts.sum()
        return float(-(p * np.log(p)).sum())


class MixtureSampler:
    """Endless batches of training windows; each window's source is drawn with probability = its mixture weight.

    Deterministic from ``seed``: the source draws come from one generator, and each source walks through its
    windows in a random order (reshuffled every pass) from a generator keyed by the seed and the source name, so a
    source's window order does not depend on which other sources are in the mixture.
    """

    def __init__(self, sources: dict[str, ShardDataset], weights: dict[str, float], batch_size: int, seed: int):
        unknown = set(weights) - set(sources)
        if unknown:
            raise ValueError(f"mixture names sources without shards: {sorted(unknown)}")
        if any(w < 0 for w in weights.values()) or not math.isfinite(sum(weights.values())):
            raise ValueError(f"mixture weights must be finite and non-negative: {weights}")
        self.names = sorted(name for name, w in weights.items() if w > 0)
        if not self.names:
            raise ValueError("mixture has no source with a positive weight")
        total = sum(weights[n] for n in self.names)
        self.probs = np.array([weights[n] / total for n in self.names])
        self.datasets = [sources[n] for n in self.names]
        self.batch_size = batch_size
        self._source_rng = np.random.default_rng([seed, 0])
        self._order_rngs = [np.random.default_rng([seed, zlib.crc32(n.encode())]) for n in self.names]
        self._orders = [np.empty(0, dtype=np.int64) for _ in self.names]
        self._positions = [0 for _ in self.names]

    def _next_window(self, s: int) -> int:
        if self._positions[s] == len(self._orders[s]):
            self._orders[s] = self._order_rngs[s].permutation(len(self.datasets[s]))
            self._positions[s] = 0
        self._positions[s] += 1
        return int(self._orders[s][self._positions[s] - 1])

    def next_batch(self) -> torch.Tensor:
        """A LongTensor (batch_size, seq_len + 1)."""
        picks = self._source_rng.choice(len(self.names), size=self.batch_size, p=self.probs)
        return torch.stack([self.datasets[s][self._next_window(s)] for s in picks])


def find_eval_sets(shards_dir: str) -> dict[str, str]:
    """Per-source held-out shard directories laid out as ``<shards_dir>/eval/<source>/``, by source name."""
    eval_root = os.path.join(shards_dir, "eval")
    if not os.path.isdir(eval_root):
        return {}
    return {name: os.path.join(eval_root, name) for name in sorted(os.listdir(eval_root))
            if os.path.isfile(os.path.join(eval_root, name, "manifest.json"))}
