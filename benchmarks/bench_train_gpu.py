"""The GPU part of ``benchmarks/bench_train.py`` (its ``gpu`` command, run by ``benchmarks/gpu_check.sh``):
single-model tokens/s and MFU, and proxy runs per GPU-hour, sequential against swarms (bmm, vmap, CUDA streams)."""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace

import torch

from bench_train import PEAK_BF16, machine, shards, swarm_throughput, write_result
from train.model import GPT, model_config
from train.trainer import TrainConfig, train_proxy

def peak_flops(name: str) -> float | None:
    for key in sorted(PEAK_BF16, key=len, reverse=True):  # "H100 PCIe" before "H100"
        if key in name:
            return PEAK_BF16[key]
    return None


OutOfMemory = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)


class Deadline:
    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()


def _cuda_reset() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.empty_cache()


def _measure(fn, what: str, deadline: Deadline, need_s: float, section: list) -> dict | None:
    """Run one measurement unless the time budget is spent; OOM and other errors are recorded, not raised."""
    if deadline.left() < need_s:
        section.append({"what": what, "skipped": f"time budget ({deadline.left():.0f}s left, needs ~{need_s:.0f}s)"})
        print(f"  {what}: skipped (time)", flush=True)
        return None
    t = time.perf_counter()
    try:
        row = {"what": what, **fn()}
    except OutOfMemory:
        row = {"what": what, "error": "out of memory"}
    except Exception as e:  # noqa: BLE001 (a failing variant must not stop the other measurements)
        row = {"what": what, "error": f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"}
    row["seconds"] = round(time.perf_counter() - t, 1)
    _cuda_reset()
    section.append(row)
    shown = {k: (f"{v:,.0f}" if isinstance(v, float) and v > 100 else v) for k, v in row.items() if k != "what"}
    print(f"  {what}: {shown}", flush=True)
    return row


def streams_throughput(config: TrainConfig, k: int, vocab: int, steps: int) -> dict:
    """K solo models stepped round-robin, each on its own CUDA stream (the streams alternative to a swarm)."""
    from train.trainer import autocast, make_optimizer

    device = torch.device("cuda")
    cfg = model_config(config.model, vocab, config.seq_len, config.attention)
    models = [GPT(cfg).to(device) for _ in range(k)]
    optims = [make_optimizer(m.named_parameters(), config, device) for m in models]
    streams = [torch.cuda.Stream() for _ in range(k)]
    data = torch.randint(0, vocab, (k, config.batch_size, config.seq_len + 1), device=device)
    torch.cuda.synchronize()

    def step():
        for m, opt, stream, w in zip(models, optims, streams, data):
            with torch.cuda.stream(stream):
                with autocast(device):
                    loss = m.loss(w)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(m.parameters(), config.grad_clip)
                opt.step()
                opt.zero_grad(set_to_none=True)

    for _ in range(2):
        step()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    seconds = time.perf_counter() - t
    return {"tokens_per_s": k * steps * config.batch_size * config.seq_len / seconds,
            "params": models[0].num_params()}


def _single(config: TrainConfig, steps: int, sources: dict, one_eval: dict, peak: float | None) -> dict:
    """One model's steady tokens/s and MFU (6ND; N = all parameters, the tied embedding counted once, as the
    output layer it also is; ``mfu_with_attention`` adds the causal attention matmuls, 6 L T d per token)."""
    m = train_proxy({s: 1.0 for s in sources}, sources, one_eval, config, steps * config.batch_size * config.seq_len,
                    seed=0)
    tps = m["steady_tokens_per_second"]
    cfg = m["model_config"]
    attention_flops = 6 * cfg["n_layer"] * cfg["seq_len"] * cfg["d_model"]
    return {"model": config.model, "params": m["params"], "non_embedding_params": m["non_embedding_params"],
            "batch": config.batch_size, "seq_len": config.seq_len, "compile": config.compile,
            "attention": config.attention, "tokens_per_s": tps,
            "mfu_6nd": 6 * m["params"] * tps / peak if peak else None,
            "mfu_with_attention": (6 * m["params"] + attention_flops) * tps / peak if peak else None,
            "peak_memory_gib": m.get("peak_memory_bytes", 0) / 2**30}


def _proxies(model: str, ks_bmm: list[int], ks_vmap: list[int], compiled_swarm: bool, args, ctx: dict) -> dict:
    """Proxy runs per GPU-hour for one proxy size: sequential runs (eager, compiled) against swarms."""
    from train.swarm import auto_swarm_size

    sources, one_eval, vocab, device, deadline = (ctx[k] for k in ("sources", "one_eval", "vocab", "device",
                                                                    "deadline"))
    cuda = device == "cuda"
    batch, seq_len, steps = ctx["proxy_shape"]
    base = TrainConfig(model=model, seq_len=seq_len, batch_size=batch, device=device, eval_tokens=seq_len,
                       log_every=10 ** 9)
    params = GPT(model_config(model, vocab, seq_len)).num_params()
    tokens_per_run = args.tokens_per_param * params
    print(f"proxy {model}: {params:,} params, {tokens_per_run:,} tokens per run ({args.tokens_per_param} per "
          f"parameter), {batch} x {seq_len} tokens per member-step", flush=True)
    rows: list = []
    summary = {"model": model, "params": params, "tokens_per_run": tokens_per_run, "member_batch": [batch, seq_len],
               "rows": rows}

    def per_hour(tps):
        return 3600 * tps / tokens_per_run if tps else None

    def solo(config):
        m = train_proxy({s: 1.0 for s in sources}, sources, one_eval, config, steps * batch * seq_len, seed=0)
        tps = m["steady_tokens_per_second"]
        return {"tokens_per_s": tps, "runs_per_hour": per_hour(tps),
                "peak_memory_gib": m.get("peak_memory_bytes", 0) / 2**30}

    def swarm(k, impl, compile=False):
        m = swarm_throughput(replace(base, swarm_impl=impl, compile=compile), k, sources, one_eval, steps)
        return {"k": k, "tokens_per_s": m["tokens_per_s"], "runs_per_hour": per_hour(m["tokens_per_s"]),
                "peak_memory_gib": (m["peak_memory_bytes"] or 0) / 2**30}

    _measure(lambda: solo(base), f"{model} sequential eager", deadline, 15, rows)
    if cuda:
        _measure(lambda: solo(replace(base, attention="sdpa", compile=True)), f"{model} sequential compile+sdpa",
                 deadline, 60, rows)
        auto = _measure(lambda: {"k": auto_swarm_size(base, vocab, torch.device(device), 10_000)},
                        f"{model} swarm size from free memory", deadline, 10, rows)
        summary["auto_swarm_size"] = auto.get("k") if auto else None
        if summary["auto_swarm_size"] and summary["auto_swarm_size"] not in ks_bmm:
            ks_bmm = ks_bmm + [summary["auto_swarm_size"]]
    for impl, ks in (("bmm", ks_bmm), ("vmap", ks_vmap)):
        for k in ks:
            _measure(lambda k=k, impl=impl: swarm(k, impl), f"{model} swarm {impl} K={k}", deadline, 15, rows)
            ctx["save"]()
    if cuda and compiled_swarm:
        done = [r for r in rows if r.get("k") and r.get("tokens_per_s") and " swarm " in r["what"]]
        if done:
            best = max(done, key=lambda r: r["tokens_per_s"])
            impl = best["what"].split()[2]
            _measure(lambda: swarm(best["k"], impl, compile=True), f"{model} swarm {impl} K={best['k']} compiled",
                     deadline, 90, rows)
        _measure(lambda: {"k": 8, **streams_throughput(base, 8, vocab, steps)}, f"{model} 8 CUDA streams",
                 deadline, 15, rows)
    sequential = max((r["tokens_per_s"] for r in rows if "sequential" in r["what"] and r.get("tokens_per_s")),
                     default=None)
    swarm_best = max((r for r in rows if " swarm " in r["what"] and r.get("tokens_per_s")),
                     key=lambda r: r["tokens_per_s"], default=None)
    if sequential and swarm_best:
        summary.update(best_sequential_tokens_per_s=sequential, best_swarm=swarm_best["what"],
                       best_swarm_tokens_per_s=swarm_best["tokens_per_s"],
                       swarm_over_sequential=swarm_best["tokens_per_s"] / sequential,
                       runs_per_gpu_hour_sequential=per_hour(sequential),
                       runs_per_gpu_hour_swarm=per_hour(swarm_best["tokens_per_s"]))
        print(f"  {model}: best swarm ({swarm_best['what']}) {summary['swarm_over_sequential']:.1f}x the best "
              f"sequential run: {summary['runs_per_gpu_hour_swarm']:,.1f} vs "
              f"{summary['runs_per_gpu_hour_sequential']:,.1f} runs per GPU-hour", flush=True)
    return summary


def cmd_gpu(args) -> None:
    """Most important first (1M proxies: swarm vs sequential; ~100M MFU), so a run cut short by its time budget
    still answers the acceptance questions; every measurement is saved as soon as it is made."""
    dry = args.dry_run
    deadline = Deadline(args.budget_s)
    cuda = torch.cuda.is_available()
    if not cuda and not dry:
        sys.exit("no CUDA device: run with --dry-run for the CPU check of this script")
    device = "cuda" if cuda else "cpu"
    if not cuda:
        torch.set_num_threads(1)
    name = torch.cuda.get_device_name() if cuda else "cpu (dry run)"
    peak = peak_flops(name) if cuda else None
    report: dict = {"device": name, "dry_run": dry, "peak_bf16_flops": peak, **machine(),
                    "cuda_version": torch.version.cuda, "pytest_status": args.pytest_status, "args": vars(args)}
    if cuda:
        free, total = torch.cuda.mem_get_info()
        report["memory_total_bytes"], report["memory_free_bytes"] = total, free
        print(f"device: {name} ({total / 2**30:.0f} GiB" + (f", bf16 dense peak {peak / 1e12:.0f} TFLOPS)"
                                                             if peak else ", peak unknown: no MFU)"), flush=True)
    else:
        print(f"device: {name}", flush=True)
    result_name = args.result or ("train_gpu_dry_run.json" if dry else "train_gpu.json")

    def save():
        return write_result(result_name, report)

    t = time.perf_counter()
    sources, evals, origin = shards(args.out, 512 if dry else args.vocab, 60_000 if dry else args.text_bytes)
    with open(os.path.join(next(iter(sources.values())), "manifest.json")) as f:
        vocab = json.load(f)["tokenizer"]["vocab_size"]
    report.update(text=origin, vocab=vocab, shards_seconds=round(time.perf_counter() - t, 1))
    print(f"shards: {origin}, vocab {vocab}, {report['shards_seconds']}s", flush=True)
    ctx = {"sources": sources, "one_eval": {next(iter(evals)): next(iter(evals.values()))}, "vocab": vocab,
           "device": device, "deadline": deadline, "save": save,
           "proxy_shape": (4, 32, 4) if dry else (args.proxy_batch, args.proxy_seq_len, args.proxy_steps)}
    report["single"], report["proxies"] = [], []

    def single(model: str, batch: int, seq_len: int, steps: int) -> None:
        config = TrainConfig(model=model, seq_len=seq_len, batch_size=batch, device=device, compile=cuda,
                             attention="sdpa" if cuda else "matmul", eval_tokens=seq_len, log_every=10 ** 9)
        _measure(lambda: _single(config, steps, sources, ctx["one_eval"], peak),
                 f"{model} {'compile+sdpa' if cuda else 'eager'}", deadline, 10 if dry else 100, report["single"])
        save()

    if dry:
        report["proxies"].append(_proxies("tiny", [2, 4], [2], True, args, ctx))
        single("tiny", 32, 64, 4)
    else:
        report["proxies"].append(_proxies("1m", [8, 32, 64], [32], True, args, ctx))
        save()
        single("100m", args.single_batch_100m, 1024, args.single_steps)
        report["proxies"].append(_proxies("15m", [8, 24], [8], False, args, ctx))
        save()
        single("20m", args.single_batch_20m, 1024, args.single_steps)
    report["seconds"] = round(args.budget_s - deadline.left(), 1)
    print(f"python part: {report['seconds']}s -> {save()}", flush=True)
