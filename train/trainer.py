"""Train one proxy model on a data mixture for a token budget; evaluate loss and bits-per-byte on held-out sets.

    metrics = train_proxy({"web": 0.7, "code": 0.3}, {"web": "shards/web", "code": "shards/code"},
                          {"web": "shards/eval/web"}, TrainConfig(model="1m"), token_budget=2_000_000, seed=0,
                          out_dir="runs/proxy")

writes ``runs/proxy/metrics.json`` and ``runs/proxy/model.safetensors`` and returns the metrics.
"""
from __future__ import annotations

import json
import math
import os
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from train.model import GPT, ModelConfig, model_config
from train.shard_reader import MixtureSampler, ShardDataset, TokenBank


@dataclass(frozen=True)
class TrainConfig:
    model: str = "1m"
    seq_len: int = 256
    batch_size: int = 32
    lr: float = 3e-3
    min_lr_ratio: float = 0.1   # cosine decays from lr to lr * min_lr_ratio
    warmup_frac: float = 0.05   # share of the steps spent warming up linearly
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float = 1.0
    eval_tokens: int = 1 << 17  # at most this many tokens per eval set
    eval_batch_size: int = 32   # windows per eval batch (a swarm splits them among its members)
    log_every: int = 10
    device: str = "auto"        # "auto": CUDA if available, else CPU
    compile: bool = False
    attention: str = "matmul"   # "sdpa": fused attention kernel, for single models on a GPU (not in a swarm)
    tie_embeddings: bool = True  # False: the output layer is its own matrix, not the input embeddings
    swarm_impl: str = "bmm"     # swarm forward: "bmm" (stacked weights, batched matmuls) or "vmap" (torch.func)

    def to_dict(self) -> dict:
        return asdict(self)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def autocast(device: torch.device):
    """bf16 autocast on CUDA; CPU trains in float32 (bf16 matmuls there are slow and make runs less comparable)."""
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()


def lr_at(step: int, total_steps: int, cfg: TrainConfig) -> float:
    warmup = max(1, round(cfg.warmup_frac * total_steps))
    if step < warmup:
        return cfg.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, total_steps - warmup)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def make_optimizer(named_params, cfg: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices only (not on RMSNorm gains); fused kernel on CUDA."""
    decay, no_decay = [], []
    for name, p in named_params:
        (no_decay if name.endswith("norm.weight") else decay).append(p)
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, fused=device.type == "cuda")


def open_sources(sources: dict[str, str], eval_sets: dict[str, str], seq_len: int):
    """Open training sources and eval sets; all must share one tokenizer. Returns (train, eval, vocab_size)."""
    train = {name: ShardDataset(path, seq_len) for name, path in sources.items()}
    evals = {name: ShardDataset(path, seq_len) for name, path in eval_sets.items()}
    tokenizers = {json.dumps(ds.manifest["tokenizer"], sort_keys=True) for ds in [*train.values(), *evals.values()]}
    if len(tokenizers) != 1:
        raise ValueError(f"sources and eval sets were tokenized differently: {sorted(tokenizers)}")
    return train, evals, next(iter(train.values())).vocab_size


class StepClock:
    """Steady-state training throughput: the wall and process CPU time from step ``warm`` (past compilation and
    allocator warm-up) to the end, with the device synchronised at both ends; and the peak device memory on CUDA."""

    def __init__(self, steps: int, device: torch.device):
        self.device = device
        self.warm = min(steps - 1, max(2, steps // 10))
        self.steps = steps
        self.start: float | None = None
        self.cpu_start = 0.0
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def tick(self, step: int) -> None:
        """Call before running ``step``."""
        if step == self.warm:
            self._sync()
            self.start = time.perf_counter()
            self.cpu_start = time.process_time()

    def report(self, tokens_per_step: int) -> dict:
        """Call after the last step: steady tokens/s (None when the run is too short to have a steady part)."""
        out: dict = {"steady_tokens_per_second": None, "steady_tokens_per_cpu_second": None}
        if self.start is not None and self.steps - self.warm >= 1:
            self._sync()
            seconds, cpu = time.perf_counter() - self.start, time.process_time() - self.cpu_start
            tokens = (self.steps - self.warm) * tokens_per_step
            out["steady_tokens_per_second"] = tokens / max(seconds, 1e-9)
            out["steady_tokens_per_cpu_second"] = tokens / max(cpu, 1e-9)
        if self.device.type == "cuda":
            out["peak_memory_bytes"] = torch.cuda.max_memory_allocated(self.device)
        return out


def training_steps(token_budget: int, cfg: TrainConfig) -> int:
    steps = token_budget // (cfg.batch_size * cfg.seq_len)
    if steps < 1:
        raise ValueError(f"token budget {token_budget} is less than one batch ({cfg.batch_size} x {cfg.seq_len})")
    return steps


@torch.no_grad()
def evaluate(summed_nats: Callable[[torch.Tensor], torch.Tensor], evals: dict[str, ShardDataset],
             cfg: TrainConfig, device: torch.device, batch_size: int) -> list[dict]:
    """Loss (nats/token) and bits-per-byte of K models on each eval set, one dict per model.

    ``summed_nats(windows)`` returns the K models' summed next-token losses on a batch of ``batch_size`` windows
    (the last batch may be smaller). At most ``eval_tokens``
    tokens per set are scored, in windows spread evenly over the set; bits-per-byte converts with the set's own
    tokens-per-byte ratio (from the manifest's UTF-8 byte counts).
    """
    results: list[dict] = []
    for name, ds in evals.items():
        n = min(len(ds), max(1, cfg.eval_tokens // ds.seq_len))
        indices = np.linspace(0, len(ds) - 1, n).round().astype(np.int64)
        total = None
        for start in range(0, n, batch_size):
            windows = ds.batch(indices[start:start + batch_size]).to(device)
            with autocast(device):
                batch_nats = summed_nats(windows).double()
            total = batch_nats if total is None else total + batch_nats
        loss = (total / (n * ds.seq_len)).tolist()
        if not results:
            results = [{} for _ in loss]
        for k, member_loss in enumerate(loss):
            results[k][name] = {"loss": member_loss,
                                "bits_per_byte": member_loss / math.log(2) * ds.tokens / ds.bytes,
                                "tokens": n * ds.seq_len}
    return results


def unigram_entropies(evals: dict[str, ShardDataset]) -> dict[str, float]:
    return {name: ds.unigram_entropy() for name, ds in evals.items()}


def base_metrics(model_cfg: ModelConfig, model: GPT, cfg: TrainConfig, token_budget: int, seed: int,
                 steps: int, device: torch.device) -> dict:
    return {"model": cfg.model, "model_config": model_cfg.to_dict(), "train_config": cfg.to_dict(),
            "params": model.num_params(), "non_embedding_params": model.num_params(embedding=False),
            "seed": seed, "token_budget": token_budget, "steps": steps,
            "tokens_trained": steps * cfg.batch_size * cfg.seq_len, "device": str(device)}


class Stopwatch:
    """Wall and CPU seconds (this process, all threads) since creation; CPU time is the fair measure of throughput
    on a machine other jobs share."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def elapsed(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def finish_metrics(metrics: dict, eval_result: dict, entropies: dict[str, float], training: tuple[float, float],
                   tokens_processed: int) -> dict:
    """Attach eval results (with each set's unigram entropy, the bar a real model must beat) and the training
    time (wall, CPU seconds) with the throughput it gives."""
    for name, r in eval_result.items():
        r["unigram_entropy"] = entropies[name]
    metrics["eval"] = eval_result
    metrics["train_seconds"], metrics["train_cpu_seconds"] = training
    metrics["tokens_per_second"] = tokens_processed / training[0]
    metrics["tokens_per_cpu_second"] = tokens_processed / training[1]
    return metrics


def save_checkpoint(state: dict[str, torch.Tensor], model_cfg: ModelConfig, path: str) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    save_file({k: v.detach().contiguous().cpu() for k, v in state.items()}, path,
              metadata={"model_config": json.dumps(model_cfg.to_dict())})


def load_checkpoint(path: str, device: str = "cpu") -> GPT:
    with safe_open(path, framework="pt") as f:
        model_cfg = ModelConfig(**json.loads(f.metadata()["model_config"]))
    model = GPT(model_cfg)
    model.load_state_dict(load_file(path, device="cpu"))
    return model.to(device)


def write_json(obj, path: str) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)


def train_proxy(mixture: dict[str, float], sources: dict[str, str], eval_sets: dict[str, str], config: TrainConfig,
                token_budget: int, seed: int, out_dir: str | None = None,
                on_step: Callable[[int, int], None] | None = None) -> dict:
    """Train one model from scratch on windows sampled from ``sources`` (name -> shard dir) with ``mixture``
    weights, for ``token_budget`` tokens; evaluate on ``eval_sets`` (name -> shard dir). Returns the metrics and,
    with ``out_dir``, writes ``metrics.json`` and ``model.safetensors`` there. ``on_step(steps_done, steps)`` is
    called after every training step (progress reporting)."""
    device = resolve_device(config.device)
    train_sets, evals, vocab_size = open_sources(sources, eval_sets, config.seq_len)
    model_cfg = model_config(config.model, vocab_size, config.seq_len, config.attention, config.tie_embeddings)
    torch.manual_seed(seed)
    model = GPT(model_cfg).to(device)
    used = {name: ds for name, ds in train_sets.items() if mixture.get(name, 0) > 0}
    bank = TokenBank(used or train_sets, device)
    sampler = MixtureSampler(train_sets, mixture, config.batch_size, seed, bank=bank)
    optimizer = make_optimizer(model.named_parameters(), config, device)
    loss_fn = torch.compile(model.loss) if config.compile else model.loss
    steps = training_steps(token_budget, config)
    metrics = base_metrics(model_cfg, model, config, token_budget, seed, steps, device)
    metrics["mixture"] = mixture
    train_loss = []
    stopwatch = Stopwatch()
    clock = StepClock(steps, device)
    for step in range(steps):
        clock.tick(step)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, steps, config)
        windows = sampler.next_batch()
        with autocast(device):
            loss = loss_fn(windows)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step % config.log_every == 0 or step == steps - 1:
            train_loss.append([step, loss.item()])
        if on_step is not None:
            on_step(step + 1, steps)
    training = stopwatch.elapsed()
    metrics.update(clock.report(config.batch_size * config.seq_len))
    metrics["train_loss"] = train_loss
    model.eval()
    eval_result = evaluate(lambda w: model.loss(w, reduction="sum")[None], evals, config, device,
                           config.eval_batch_size)[0]
    finish_metrics(metrics, eval_result, unigram_entropies(evals), training, metrics["tokens_trained"])
    if out_dir:
        save_checkpoint(model.state_dict(), model_cfg, os.path.join(out_dir, "model.safetensors"))
        write_json(metrics, os.path.join(out_dir, "metrics.json"))
    return metrics
