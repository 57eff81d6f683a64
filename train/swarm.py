"""Train K proxies with different data mixtures at once on one device.

The K models' parameters are stacked along a new leading dimension and one ``torch.func.vmap`` over
``functional_call`` runs all of them as batched matmuls: one kernel launch per layer for the whole swarm instead of
K, which is what keeps a GPU busy with tiny models. Each member is exactly the model ``train_proxy`` would train with
the same mixture and seed: same initialisation, same batches (its own ``MixtureSampler``), its own loss and
gradient (the swarm's summed loss has no cross-member terms), its own gradient-norm clipping, and AdamW, which is
elementwise, applied to the stacked tensors. Members differ from solo runs only by floating-point summation order:
tests/test_train_proxy.py holds a swarm of 8 to within 1e-4 (nats of eval loss, and per weight) of the solo runs;
measured on CPU: at most 4e-7.

    metrics = train_swarm([{"web": 1.0}, {"web": 0.5, "code": 0.5}], {"web": "shards/web", "code": "shards/code"},
                          {"web": "shards/eval/web"}, TrainConfig(model="1m"), token_budget=2_000_000, seed=0)
"""
from __future__ import annotations

import copy
import functools
import os

import torch
from torch.func import functional_call, vmap

from train.model import GPT, model_config, next_token_loss
from train.shard_reader import MixtureSampler
from train.trainer import (Stopwatch, TrainConfig, autocast, base_metrics, evaluate, finish_metrics, lr_at,
                           make_optimizer, open_sources, resolve_device, save_checkpoint, training_steps,
                           unigram_entropies, write_json)


class StackedGPT:
    """K copies of a GPT as stacked parameters of shape (K, ...), run together with vmap."""

    def __init__(self, template: GPT, k: int):
        # the module only supplies the forward code; parameters and buffers are passed to functional_call
        self.module = copy.deepcopy(template).to("meta")
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


def train_swarm(mixtures: list[dict[str, float]], sources: dict[str, str], eval_sets: dict[str, str],
                config: TrainConfig, token_budget: int, seed: int, out_dir: str | None = None) -> list[dict]:
    """Train one proxy per mixture, all at once, each as ``train_proxy(mixture, ..., seed)`` would alone.
    Returns one metrics dict per mixture (in order); with ``out_dir``, writes ``member-NNN/metrics.json`` and
    ``member-NNN/model.safetensors`` per member and the list as ``swarm.json``."""
    if config.attention != "matmul":
        raise ValueError("a swarm needs attention='matmul': SDPA has no vmap batching rule")
    device = resolve_device(config.device)
    train_sets, evals, vocab_size = open_sources(sources, eval_sets, config.seq_len)
    model_cfg = model_config(config.model, vocab_size, config.seq_len)
    torch.manual_seed(seed)
    template = GPT(model_cfg).to(device)
    swarm = StackedGPT(template, len(mixtures))
    samplers = [MixtureSampler(train_sets, mixture, config.batch_size, seed) for mixture in mixtures]
    optimizer = make_optimizer(swarm.params.items(), config, device)
    losses_fn = torch.compile(swarm.losses) if config.compile else swarm.losses
    steps = training_steps(token_budget, config)
    train_loss: list[list] = []
    stopwatch = Stopwatch()
    for step in range(steps):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, steps, config)
        windows = torch.stack([s.next_batch() for s in samplers]).to(device)
        with autocast(device):
            losses = losses_fn(windows)
        losses.sum().backward()  # d(sum)/d(member k's params) = d(member k's loss)/d(its params)
        swarm.clip_grad_norms(config.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step % config.log_every == 0 or step == steps - 1:
            train_loss.append([step, losses.tolist()])
    training = stopwatch.elapsed()
    # every member scores every eval window: fewer windows per batch keep the swarm's logits as large as one model's
    eval_results = evaluate(swarm.summed_nats, evals, config, device,
                            max(1, config.eval_batch_size // len(mixtures)))
    entropies = unigram_entropies(evals)
    all_metrics = []
    for k, mixture in enumerate(mixtures):
        metrics = base_metrics(model_cfg, template, config, token_budget, seed, steps, device)
        metrics["mixture"] = mixture
        metrics["swarm_size"] = len(mixtures)
        metrics["train_loss"] = [[step, member_losses[k]] for step, member_losses in train_loss]
        # throughput of the whole swarm: the members share the device and the wall clock
        finish_metrics(metrics, eval_results[k], entropies, training, metrics["tokens_trained"] * len(mixtures))
        all_metrics.append(metrics)
        if out_dir:
            member_dir = os.path.join(out_dir, f"member-{k:03d}")
            save_checkpoint(swarm.member_state(k), model_cfg, os.path.join(member_dir, "model.safetensors"))
            write_json(metrics, os.path.join(member_dir, "metrics.json"))
    if out_dir:
        write_json(all_metrics, os.path.join(out_dir, "swarm.json"))
    return all_metrics
