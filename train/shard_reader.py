"""Read token shards (``curation/shards/format.py``) as fixed-length training windows, alone or as a weighted mixture.

A window is ``seq_len + 1`` consecutive tokens: the model reads the first ``seq_len`` and predicts the last
``seq_len``. Window ``i`` of a shard starts at token ``i * seq_len``, so neighbouring windows share one token and
every token but a shard's first is predicted exactly once per pass. Windows do not cross shard boundaries.

Batches are built without a Python loop over windows: a sampler draws window indices (numpy, per source), turns
them into token offsets, and a :class:`TokenBank` gathers all windows of a step -- a whole swarm's (K, B) of them
-- with one vectorised indexing op. On CUDA the bank lives in GPU memory, so only the (K, B) offsets cross the bus
(from pinned memory, asynchronously) and the windows are built on the GPU.
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
        # token offset of each shard in the directory's concatenation (the coordinate ``window_starts`` returns)
        self._shard_offsets = np.concatenate([[0], np.cumsum([len(t) for t in self.shards])]).astype(np.int64)
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

    def window_starts(self, indices) -> np.ndarray:
        """Token offsets (in the concatenation of the directory's shards) where windows ``indices`` start."""
        indices = np.asarray(indices, dtype=np.int64)
        shard = np.searchsorted(self._first_window, indices, side="right") - 1
        return self._shard_offsets[shard] + (indices - self._first_window[shard]) * self.seq_len

    def flat_tokens(self) -> np.ndarray:
        """All tokens of the directory in one array (a single shard's memory map itself: no copy)."""
        return self.shards[0] if len(self.shards) == 1 else np.concatenate(self.shards)

    def segments(self) -> list[tuple[int, np.ndarray]]:
        """(offset in the concatenation, tokens) of each shard."""
        return [(int(off), t) for off, t in zip(self._shard_offsets[:-1], self.shards)]

    def batch(self, indices) -> torch.Tensor:
        """Windows ``indices`` as a LongTensor (len(indices), seq_len + 1), gathered per shard with one numpy
        fancy-index each (no loop over windows)."""
        return torch.from_numpy(gather_windows(self.segments(), self.window_starts(indices), self.seq_len + 1))

    def unigram_entropy(self) -> float:
        """Entropy (nats/token) of the directory's own token frequencies: the loss of the best context-free model."""
        counts = sum(np.bincount(t, minlength=self.vocab_size) for t in self.shards)
        p = counts[counts > 0] / counts.sum()
        return float(-(p * np.log(p)).sum())


def gather_windows(segments: list[tuple[int, np.ndarray]], starts: np.ndarray, width: int) -> np.ndarray:
    """int64 array (*starts.shape, width): ``width`` tokens from each start offset, in the coordinate where
    segment ``(offset, tokens)`` holds offsets ``offset .. offset + len(tokens) - 1``. A window never crosses a
    segment's end. One fancy-index per segment that holds a start (a loop over shards, never over windows)."""
    flat = np.asarray(starts, dtype=np.int64).reshape(-1)
    span = np.arange(width, dtype=np.int64)
    if len(segments) == 1:
        out = segments[0][1][flat[:, None] - segments[0][0] + span].astype(np.int64, copy=False)
    else:
        out = np.empty((len(flat), width), dtype=np.int64)
        bounds = np.array([off for off, _ in segments[1:]], dtype=np.int64)
        which = np.searchsorted(bounds, flat, side="right")
        for seg in np.unique(which):
            rows = which == seg
            offset, tokens = segments[seg]
            out[rows] = tokens[flat[rows, None] - offset + span]
    return out.reshape(*np.shape(starts), width)


class TokenBank:
    """The tokens of several :class:`ShardDataset` s in one coordinate space: dataset ``name``'s token ``i`` is at
    ``base[name] + i``. :meth:`gather` turns an array of start offsets of any shape into windows of
    ``seq_len + 1`` tokens in one vectorised op.

    Resident while it fits (``max_bytes``; on CUDA also a quarter of the free GPU memory): the tokens concatenated
    once -- on CUDA as one int32 tensor in GPU memory, so a batch is built on the GPU from its offsets and only
    those cross the bus (pinned, non-blocking); on the CPU as one numpy array in the shards' dtype, gathered with a
    numpy fancy-index (faster than torch's CPU advanced indexing at these shapes; ``benchmarks/bench_train.py
    batches`` measures it). Otherwise the shards stay memory-mapped and windows are gathered on the CPU, one
    fancy-index per shard that the batch touches, then copied to the device from pinned memory.
    """

    def __init__(self, datasets: dict[str, ShardDataset], device: str | torch.device = "cpu",
                 max_bytes: int = 4 << 30):
        if not datasets:
            raise ValueError("a token bank needs at least one dataset")
        seq_lens = {ds.seq_len for ds in datasets.values()}
        if len(seq_lens) != 1:
            raise ValueError(f"datasets have different window lengths: {sorted(seq_lens)}")
        self.seq_len = seq_lens.pop()
        self.device = torch.device(device)
        self.base: dict[str, int] = {}
        self.segments: list[tuple[int, np.ndarray]] = []
        total = 0
        for name, ds in datasets.items():
            self.base[name] = total
            self.segments += [(total + off, tokens) for off, tokens in ds.segments()]
            total += ds.tokens
        self.tokens_total = total
        cuda = self.device.type == "cuda"
        itemsize = 4 if cuda else max(t.dtype.itemsize for _, t in self.segments)
        fits = total * itemsize <= max_bytes
        if fits and cuda:
            fits = total * itemsize <= torch.cuda.mem_get_info(self.device)[0] // 4
        self.resident = bool(fits)
        self._host_ring: list[tuple[torch.Tensor, object]] = []
        self._ring_next = 0
        if self.resident:
            flat = np.concatenate([t for _, t in self.segments]) if len(self.segments) > 1 else self.segments[0][1]
            if cuda:
                self._device_tokens = torch.from_numpy(np.ascontiguousarray(flat, dtype=np.int32)).to(self.device)
                self._span = torch.arange(self.seq_len + 1, device=self.device)
            else:
                self.segments = [(0, np.ascontiguousarray(flat))]

    def _to_device(self, array: np.ndarray) -> torch.Tensor:
        """A host array on the device: on CUDA through a ring of two pinned buffers and a non-blocking copy (a
        buffer is refilled only after the copy out of it has finished)."""
        host = torch.from_numpy(array)
        if self.device.type != "cuda":
            return host
        if len(self._host_ring) < 2:
            self._host_ring.append((torch.empty(0, dtype=host.dtype).pin_memory(), None))
        buf, event = self._host_ring[self._ring_next]
        if event is not None:
            event.synchronize()
        n = host.numel()
        if buf.numel() < n or buf.dtype != host.dtype:
            buf = torch.empty(max(n, 2 * buf.numel()), dtype=host.dtype).pin_memory()
        staged = buf[:n].view(host.shape)
        staged.copy_(host)
        on_device = staged.to(self.device, non_blocking=True)
        event = torch.cuda.Event()
        event.record()
        self._host_ring[self._ring_next] = (buf, event)
        self._ring_next = (self._ring_next + 1) % 2
        return on_device

    def gather(self, starts: np.ndarray) -> torch.Tensor:
        """LongTensor (*starts.shape, seq_len + 1) on the bank's device: the window starting at each offset."""
        starts = np.ascontiguousarray(starts, dtype=np.int64)
        if self.resident and self.device.type == "cuda":
            index = (self._to_device(starts).unsqueeze(-1) + self._span).reshape(-1)
            return self._device_tokens.index_select(0, index).view(*starts.shape, self.seq_len + 1).long()
        return self._to_device(gather_windows(self.segments, starts, self.seq_len + 1))


class MixtureSampler:
    """Endless batches of training windows; each window's source is drawn with probability = its mixture weight.

    Deterministic from ``seed``: the source draws come from one generator, and each source walks through its
    windows in a random order (reshuffled every pass) from a generator keyed by the seed and the source name, so a
    source's window order does not depend on which other sources are in the mixture.

    :meth:`next_starts` gives a batch as token offsets into ``bank`` (a :class:`TokenBank` holding the mixture's
    sources; one is made on the CPU when none is given), which a swarm stacks for all its members and gathers at
    once; :meth:`next_batch` gathers them itself. Drawing a batch costs a few numpy calls per source, none per
    window: each pass's permutation is mapped to token offsets once.
    """

    def __init__(self, sources: dict[str, ShardDataset], weights: dict[str, float], batch_size: int, seed: int,
                 bank: TokenBank | None = None):
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
        # Generator.choice(p=probs) is searchsorted(cumsum(p) / sum, random(), side="right"): the same draws,
        # without rebuilding the cumulative sum every batch
        self._cdf = np.cumsum(self.probs)
        self._cdf /= self._cdf[-1]
        self.datasets = [sources[n] for n in self.names]
        self.batch_size = batch_size
        self._source_rng = np.random.default_rng([seed, 0])
        self._order_rngs = [np.random.default_rng([seed, zlib.crc32(n.encode())]) for n in self.names]
        self._orders = [np.empty(0, dtype=np.int64) for _ in self.names]
        self._positions = [0 for _ in self.names]
        self._window_starts: list[np.ndarray] | None = None  # bank offset of every window, per source
        self._order_starts: list[np.ndarray | None] = [None for _ in self.names]  # the current pass's, in order
        missing = [n for n in self.names if bank is not None and n not in bank.base]
        if missing:
            raise ValueError(f"the token bank holds no tokens of sources {missing}")
        self._sources = sources
        self._bank = bank
        self._base = None if bank is None else np.array([bank.base[n] for n in self.names], dtype=np.int64)

    @property
    def bank(self) -> TokenBank:
        if self._bank is None:
            self._bank = TokenBank({n: self._sources[n] for n in self.names})
            self._base = np.array([self._bank.base[n] for n in self.names], dtype=np.int64)
        return self._bank

    def _new_pass(self, s: int) -> None:
        self._orders[s] = self._order_rngs[s].permutation(len(self.datasets[s]))
        self._order_starts[s] = None
        self._positions[s] = 0

    def _next_windows(self, s: int, n: int) -> np.ndarray:
        """The next ``n`` window indices of source ``s`` in its shuffled order (a new permutation each pass)."""
        out = np.empty(n, dtype=np.int64)
        filled = 0
        while filled < n:
            if self._positions[s] == len(self._orders[s]):
                self._new_pass(s)
            take = min(n - filled, len(self._orders[s]) - self._positions[s])
            out[filled:filled + take] = self._orders[s][self._positions[s]:self._positions[s] + take]
            self._positions[s] += take
            filled += take
        return out

    def _next_starts_of(self, s: int, n: int) -> np.ndarray:
        """The bank offsets of source ``s``'s next ``n`` windows (same order and passes as ``_next_windows``)."""
        if self._window_starts is None:
            bank = self.bank
            self._window_starts = [bank.base[name] + ds.window_starts(np.arange(len(ds)))
                                   for name, ds in zip(self.names, self.datasets)]
        chunks = []
        while n > 0:
            if self._positions[s] == len(self._orders[s]):
                self._new_pass(s)
            if self._order_starts[s] is None:
                self._order_starts[s] = self._window_starts[s][self._orders[s]]
            take = min(n, len(self._orders[s]) - self._positions[s])
            chunks.append(self._order_starts[s][self._positions[s]:self._positions[s] + take])
            self._positions[s] += take
            n -= take
        return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)

    def next_starts(self) -> np.ndarray:
        """The next batch as int64 token offsets (batch_size,) into :attr:`bank`: a loop over sources, not
        windows. Window j comes from source picks[j]; a source's windows follow its order in batch order."""
        picks = self._cdf.searchsorted(self._source_rng.random(self.batch_size), side="right")
        if len(self.names) == 1:
            return self._next_starts_of(0, self.batch_size).copy()
        counts = np.bincount(picks, minlength=len(self.names))
        in_source_order = np.concatenate([self._next_starts_of(s, int(c)) for s, c in enumerate(counts) if c])
        starts = np.empty(self.batch_size, dtype=np.int64)
        starts[np.argsort(picks, kind="stable")] = in_source_order
        return starts

    def next_batch(self) -> torch.Tensor:
        """A LongTensor (batch_size, seq_len + 1) on the bank's device."""
        return self.bank.gather(self.next_starts())


def find_eval_sets(shards_dir: str) -> dict[str, str]:
    """Per-source held-out shard directories laid out as ``<shards_dir>/eval/<source>/``, by source name."""
    eval_root = os.path.join(shards_dir, "eval")
    if not os.path.isdir(eval_root):
        return {}
    return {name: os.path.join(eval_root, name) for name in sorted(os.listdir(eval_root))
            if os.path.isfile(os.path.join(eval_root, name, "manifest.json"))}
