"""Train K proxies with different data mixtures at once on one device.

The K models' parameters are stacked along a new leading dimension, so each layer runs once for the whole swarm:
one kernel launch per layer instead of K, which is what keeps a GPU busy with tiny models. Two implementations of
the stacked forward pass (``TrainConfig.swarm_impl``):

- ``"bmm"`` (:class:`BatchedGPT`): the GPT forward written out over stacked weights -- ``torch.bmm`` for every
  linear layer, one embedding lookup into the (K * vocab, d) table, attention over K * B sequences;
- ``"vmap"`` (:class:`StackedGPT`): ``torch.func.vmap`` over ``functional_call`` of the solo module.

Both hold the same stacked parameters (named as a solo GPT's state_dict, shape (K, ...)) and train them the same
way. Each member is exactly the model ``train_proxy`` would train with the same mixture and seed: same
initialisation, same batches (its own ``MixtureSampler``; all members' windows gathered in one op from a shared
``TokenBank``), its own loss and gradient (the swarm's summed loss has no cross-member terms), its own
gradient-norm clipping, and AdamW, which is elementwise, applied to the stacked tensors. Members differ from solo
runs only by floating-point summation order: the tests hold a swarm of 8 to within 1e-4 (nats of eval loss, and
per weight) of the solo runs, for both implementations.

    metrics = train_swarm([{"web": 1.0}, {"web": 0.5, "code": 0.5}], {"web": "shards/web", "code": "shards/code"},
                          {"web": "shards/eval/web"}, TrainConfig(model="1m"), token_budget=2_000_000, seed=0)
"""
from __future__ import annotations

import copy
import functools
import math
import os
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch.func import functional_call, vmap

from train.model import GPT, ModelConfig, apply_rotary, model_config, next_token_loss
from train.shard_reader import MixtureSampler, TokenBank
from train.trainer import (StepClock, Stopwatch, TrainConfig, autocast, base_metrics, evaluate, finish_metrics,
                           lr_at, make_optimizer, open_sources, resolve_device, save_checkpoint, training_steps,
                           unigram_entropies, write_json)

SWARM_IMPLS = ("bmm", "vmap")
# Swarm size on the CPU: members per swarm where tokens/s stops improving on a 2-core machine for the small proxy
# configs (benchmarks/bench_train.py cpu; results in benchmarks/results/train_cpu.json).
CPU_SWARM_SIZE = 8
# Upper bound on a GPU swarm: past this the per-step work is already large enough to fill the device, and smaller
# groups finish (and are saved) sooner.
MAX_GPU_SWARM = 256
# Fuse the output layer with the loss in the bmm swarm on the CPU (see FusedLinearCrossEntropy); a switch for the
# benchmark that measures what it saves.
FUSED_LOSS_ON_CPU = True


class StackedGPT:
    """K copies of a GPT as stacked parameters of shape (K, ...), run together with vmap."""

    def __init__(self, template: GPT, k: int):
        # the module only supplies the forward code; parameters and buffers are passed to functional_call
        self.module = copy.deepcopy(template).to("meta")
        self.cfg: ModelConfig = template.cfg
        self.k = k
        self.buffers = {name: b for name, b in template.named_buffers()}
        self.params = {name: p.detach().unsqueeze(0).repeat(k, *[1] * p.dim()).requires_grad_()
                       for name, p in template.named_parameters()}

    def _member_loss(self, params, windows, reduction):
        logits = functional_call(self.module, (params, self.buffers), (windows[:, :-1],))
        return next_token_loss(logits, windows, reduction)

    def losses(self, windows: torch.Tensor) -> torch.Tensor:
        """Mean loss of each member on its own windows (K, B, T+1) -> (K,)."""
        return vmap(functools.partial(self._member_loss, reduction="mean"))(self.params, windows)

    def summed_nats(self, windows: torch.Tensor) -> torch.Tensor:
        """Summed loss of each member on the same windows (B, T+1) -> (K,)."""
        return vmap(functools.partial(self._member_loss, reduction="sum"), in_dims=(0, None))(self.params, windows)

    def clip_grad_norms(self, max_norm: float) -> None:
        """Per-member ``clip_grad_norm_``: scale member k's gradients so their joint L2 norm is at most max_norm."""
        grads = [p.grad for p in self.params.values()]
        norms = torch.stack([g.flatten(1).pow(2).sum(1) for g in grads]).sum(0).sqrt()
        scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)  # same formula as torch.nn.utils.clip_grad_norm_
        for g in grads:
            g.mul_(scale.view(-1, *[1] * (g.dim() - 1)))

    def member_state(self, k: int) -> dict[str, torch.Tensor]:
        """Member k's parameters under the names of a solo GPT's state_dict."""
        return {name: p[k].detach() for name, p in self.params.items()}


def _rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """``RMSNorm`` of x (K, N, C) with per-member gains (K, C): the same float32 arithmetic as the module."""
    x32 = x.float()
    return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)).type_as(x) * weight.unsqueeze(1)


class FusedLinearCrossEntropy(torch.autograd.Function):
    """Per-member summed next-token loss of the output layer, ``sum_n CE(h[k, n] @ w[k].T, targets[k, n])``,
    without materialising the (K, N, vocab) logits: the forward pass works through blocks of ``chunk`` tokens per
    member, computing each block's logits, its loss and at once its gradients (softmax - one-hot) with respect to
    h and w, and the backward pass only scales them. A block's logits stay in cache, which on a CPU roughly halves
    the time of the output layer and loss (the bulk of a step for a small proxy with a 4k-8k vocabulary:
    ``benchmarks/bench_train.py cpu``). Same arithmetic as ``F.cross_entropy`` up to summation order. Float32 only
    (the CPU path; CUDA uses the unfused loss under bf16 autocast)."""

    @staticmethod
    def forward(ctx, h, w, targets, chunk: int):
        K, N, _ = h.shape
        grad_h = torch.empty_like(h)
        grad_w = torch.zeros_like(w)
        out = torch.empty(K, dtype=torch.float32, device=h.device)
        for k in range(K):
            hk, wk, tk = h[k], w[k], targets[k]
            total = torch.zeros((), dtype=torch.float32, device=h.device)
            for start in range(0, N, chunk):
                hc, tc = hk[start:start + chunk], tk[start:start + chunk].unsqueeze(-1)
                logits = hc @ wk.t()  # (n, vocab)
                target_logit = logits.gather(-1, tc)
                top = logits.amax(-1, keepdim=True)
                probs = logits.sub_(top).exp_()
                norm = probs.sum(-1, keepdim=True)
                total += (norm.log() + top - target_logit).sum()
                grad = probs.div_(norm)
                grad.scatter_add_(-1, tc, torch.full_like(target_logit, -1.0))  # softmax - one-hot
                grad_h[k, start:start + chunk] = grad @ wk
                grad_w[k].addmm_(grad.t(), hc)
            out[k] = total
        ctx.save_for_backward(grad_h, grad_w)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        grad_h, grad_w = ctx.saved_tensors
        scale = grad_out.view(-1, 1, 1)
        return grad_h * scale, grad_w * scale, None, None


def _linear(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Per-member ``F.linear`` without bias: x (K, N, in), weight (K, out, in) -> (K, N, out), one bmm."""
    return torch.bmm(x, weight.transpose(1, 2))


class BatchedGPT(StackedGPT):
    """K copies of a GPT as stacked parameters, run with batched matmuls written out (no vmap).

    Activations are (K, B*T, C): every linear layer is one ``torch.bmm`` over the K members, attention treats the
    K*B sequences as one batch, and the embedding lookup goes through one (K*vocab, d) view of the stacked table.
    On the CPU (float32) the training loss fuses the output layer with the cross-entropy
    (:class:`FusedLinearCrossEntropy`)."""

    LOSS_CHUNK = 64  # tokens per block of the fused output layer + loss: 64 x 4k float logits = 1 MiB, an L2

    def __init__(self, template: GPT, k: int, fused_loss: bool | None = None):
        super().__init__(template, k)
        self.n_layer = self.cfg.n_layer
        device = next(iter(self.params.values())).device
        self.fused_loss = (device.type == "cpu" and FUSED_LOSS_ON_CPU) if fused_loss is None else fused_loss

    def logits(self, idx: torch.Tensor) -> torch.Tensor:
        """Logits (K, B*T, vocab) of member k on its own token ids idx[k] (K, B, T)."""
        return _linear(self.hidden(idx), self.output_weight)

    @property
    def output_weight(self) -> torch.Tensor:
        return self.params["tok_emb.weight" if self.cfg.tie_embeddings else "lm_head.weight"]

    def hidden(self, idx: torch.Tensor) -> torch.Tensor:
        """Final normalised hidden states (K, B*T, C) of member k on its own token ids idx[k] (K, B, T)."""
        p, cfg = self.params, self.cfg
        K, B, T = idx.shape
        C, H, V = cfg.d_model, cfg.n_head, cfg.vocab_size
        emb = p["tok_emb.weight"]  # (K, V, C)
        member_offset = (torch.arange(K, device=idx.device) * V).view(K, 1, 1)
        x = F.embedding(idx + member_offset, emb.reshape(K * V, C)).view(K, B * T, C)
        cos, sin = self.buffers["rope_cos"][:T], self.buffers["rope_sin"][:T]
        mask = self.buffers["causal_mask"][:T, :T]
        scale = 1.0 / math.sqrt(C // H)
        for i in range(self.n_layer):
            pre = f"blocks.{i}."
            h = _rms_norm(x, p[pre + "attn_norm.weight"], cfg.norm_eps)
            q, k, v = _linear(h, p[pre + "attn.qkv.weight"]).split(C, dim=-1)
            q, k, v = (t.reshape(K * B, T, H, C // H).transpose(1, 2) for t in (q, k, v))
            q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
            scores = (q @ k.transpose(-2, -1)) * scale
            y = scores.masked_fill(mask, float("-inf")).softmax(dim=-1) @ v  # (K*B, H, T, hd)
            y = y.transpose(1, 2).reshape(K, B * T, C)
            x = x + _linear(y, p[pre + "attn.proj.weight"])
            h = _rms_norm(x, p[pre + "mlp_norm.weight"], cfg.norm_eps)
            gated = F.silu(_linear(h, p[pre + "mlp.gate.weight"])) * _linear(h, p[pre + "mlp.up.weight"])
            x = x + _linear(gated, p[pre + "mlp.down.weight"])
        return _rms_norm(x, p["norm.weight"], cfg.norm_eps)

    def _nats(self, windows: torch.Tensor) -> torch.Tensor:
        """Per-token losses (K, B*T) of member k on windows[k] (K, B, T+1)."""
        logits = self.logits(windows[..., :-1])
        K = logits.size(0)
        return F.cross_entropy(logits.flatten(0, 1).float(), windows[..., 1:].flatten(),
                               reduction="none").view(K, -1)

    def losses(self, windows: torch.Tensor) -> torch.Tensor:
        if self.fused_loss and torch.is_grad_enabled() and not torch.is_autocast_enabled("cpu"):
            h = self.hidden(windows[..., :-1])
            targets = windows[..., 1:].reshape(self.k, -1)
            return FusedLinearCrossEntropy.apply(h, self.output_weight, targets,
                                                 self.LOSS_CHUNK) / targets.size(1)
        return self._nats(windows).mean(1)

    def summed_nats(self, windows: torch.Tensor) -> torch.Tensor:
        return self._nats(windows.unsqueeze(0).expand(self.k, *windows.shape)).sum(1)


def make_swarm(template: GPT, k: int, impl: str, compile: bool = False) -> StackedGPT:
    """K copies of ``template`` as one swarm; ``compile``: the loss will run under torch.compile, which fuses the
    output layer and loss itself (the hand-fused CPU loss's loops would only be unrolled into a huge graph)."""
    if impl not in SWARM_IMPLS:
        raise ValueError(f"swarm_impl must be one of {SWARM_IMPLS}, got {impl!r}")
    return BatchedGPT(template, k, fused_loss=False if compile else None) if impl == "bmm" else StackedGPT(template, k)


def train_swarm(mixtures: list[dict[str, float]], sources: dict[str, str], eval_sets: dict[str, str],
                config: TrainConfig, token_budget: int, seed: int, out_dir: str | None = None,
                on_step: Callable[[int, int], None] | None = None, save_models: bool = True) -> list[dict]:
    """Train one proxy per mixture, all at once, each as ``train_proxy(mixture, ..., seed)`` would alone.
    Returns one metrics dict per mixture (in order); with ``out_dir``, writes ``member-NNN/metrics.json`` (and
    ``member-NNN/model.safetensors`` with ``save_models``) per member and the list as ``swarm.json``.
    ``on_step(steps_done, steps)`` is called after every training step (progress reporting)."""
    if config.attention != "matmul":
        raise ValueError("a swarm needs attention='matmul': SDPA has no vmap batching rule")
    if not mixtures:
        raise ValueError("a swarm needs at least one mixture")
    device = resolve_device(config.device)
    train_sets, evals, vocab_size = open_sources(sources, eval_sets, config.seq_len)
    model_cfg = model_config(config.model, vocab_size, config.seq_len, tie_embeddings=config.tie_embeddings)
    torch.manual_seed(seed)
    template = GPT(model_cfg).to(device)
    swarm = make_swarm(template, len(mixtures), config.swarm_impl, config.compile)
    used = {name: ds for name, ds in train_sets.items() if any(m.get(name, 0) > 0 for m in mixtures)}
    bank = TokenBank(used or train_sets, device)
    samplers = [MixtureSampler(train_sets, mixture, config.batch_size, seed, bank=bank) for mixture in mixtures]
    optimizer = make_optimizer(swarm.params.items(), config, device)
    losses_fn = torch.compile(swarm.losses) if config.compile else swarm.losses
    steps = training_steps(token_budget, config)
    train_loss: list[list] = []
    stopwatch = Stopwatch()
    clock = StepClock(steps, device)
    for step in range(steps):
        clock.tick(step)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, steps, config)
        # every member's batch in one gather: (K, B, T+1), built on the device from the members' token offsets
        windows = bank.gather(np.stack([s.next_starts() for s in samplers]))
        with autocast(device):
            losses = losses_fn(windows)
        losses.sum().backward()  # d(sum)/d(member k's params) = d(member k's loss)/d(its params)
        swarm.clip_grad_norms(config.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step % config.log_every == 0 or step == steps - 1:
            train_loss.append([step, losses.tolist()])
        if on_step is not None:
            on_step(step + 1, steps)
    training = stopwatch.elapsed()
    timing = clock.report(config.batch_size * config.seq_len * len(mixtures))
    # every member scores every eval window: fewer windows per batch keep the swarm's logits as large as one model's
    eval_results = evaluate(swarm.summed_nats, evals, config, device,
                            max(1, config.eval_batch_size // len(mixtures)))
    entropies = unigram_entropies(evals)
    all_metrics = []
    for k, mixture in enumerate(mixtures):
        metrics = base_metrics(model_cfg, template, config, token_budget, seed, steps, device)
        metrics["mixture"] = mixture
        metrics["swarm_size"] = len(mixtures)
        metrics["swarm_impl"] = config.swarm_impl
        metrics["train_loss"] = [[step, member_losses[k]] for step, member_losses in train_loss]
        # throughput of the whole swarm: the members share the device and the wall clock
        finish_metrics(metrics, eval_results[k], entropies, training, metrics["tokens_trained"] * len(mixtures))
        metrics.update(timing)
        all_metrics.append(metrics)
        if out_dir:
            member_dir = os.path.join(out_dir, f"member-{k:03d}")
            if save_models:
                save_checkpoint(swarm.member_state(k), model_cfg, os.path.join(member_dir, "model.safetensors"))
            write_json(metrics, os.path.join(member_dir, "metrics.json"))
    if out_dir:
        write_json(all_metrics, os.path.join(out_dir, "swarm.json"))
    return all_metrics


def swarm_step_footprint(config: TrainConfig, vocab_size: int, device: torch.device, k: int) -> int:
    """Peak CUDA bytes of two training steps of a K-member swarm (stacked parameters, gradients, AdamW states and
    the activations of a (K, batch_size, seq_len) batch), measured on random token ids."""
    torch.cuda.synchronize(device)
    torch.cuda.empty_cache()
    base = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    template = GPT(model_config(config.model, vocab_size, config.seq_len,
                                 tie_embeddings=config.tie_embeddings)).to(device)
    swarm = make_swarm(template, k, config.swarm_impl)
    optimizer = make_optimizer(swarm.params.items(), config, device)
    windows = torch.randint(0, vocab_size, (k, config.batch_size, config.seq_len + 1), device=device)
    for _ in range(2):  # the second step runs with the AdamW states allocated
        with autocast(device):
            losses = swarm.losses(windows)
        losses.sum().backward()
        swarm.clip_grad_norms(config.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device) - base
    del template, swarm, optimizer, windows, losses
    torch.cuda.empty_cache()
    return peak


def auto_swarm_size(config: TrainConfig, vocab_size: int, device: torch.device, runs: int,
                    reserve_bytes: int = 0, memory_fraction: float = 0.85) -> int:
    """Members per swarm for ``runs`` pending runs. CPU: :data:`CPU_SWARM_SIZE`. CUDA: as many as fit in
    ``memory_fraction`` of the free memory (less ``reserve_bytes``, e.g. the token bank), from a per-member
    footprint measured as the difference between swarms of 1 and 2 members; at most :data:`MAX_GPU_SWARM`."""
    runs = max(1, runs)
    if device.type != "cuda":
        return min(runs, CPU_SWARM_SIZE)
    one = swarm_step_footprint(config, vocab_size, device, 1)
    two = swarm_step_footprint(config, vocab_size, device, 2)
    per_member = max(two - one, 1)
    fixed = max(one - per_member, 0)
    free = torch.cuda.mem_get_info(device)[0]
    fit = int((free * memory_fraction - reserve_bytes - fixed) // per_member)
    return max(1, min(runs, MAX_GPU_SWARM, fit))
