"""Training benchmarks: proxy learning and throughput on CPU and GPU, swarm against solo runs.

    .venv/bin/python benchmarks/bench_train.py [basic]     # one proxy's learning, a swarm of 8 against solo runs
    .venv/bin/python benchmarks/bench_train.py batches     # batch building: window-by-window loop vs one gather
    .venv/bin/python benchmarks/bench_train.py cpu         # tokens/s per config, swarm size K, vmap vs bmm, threads
    .venv/bin/python benchmarks/bench_train.py learn SPEC.. # which small proxy learns most: loss vs unigram entropy
    .venv/bin/python benchmarks/bench_train.py mix         # the 64-run mixture swarm on 7 domains (run_mixtures)
    python benchmarks/bench_train.py gpu [--dry-run]       # GPU figures (benchmarks/gpu_check.sh runs this)

Shards come from the shared domain corpora (``../shared/data/corpora``; else the built-in sample corpus, else
synthetic text), tokenized with a byte-level BPE trained here, under ``--out`` (reused when present). Throughput is
steady-state training tokens per second (evaluation and the first steps -- compilation, allocator warm-up --
excluded) and, on the CPU, per CPU-second of this process: the machine is shared, so CPU time is the fair measure
there. Results go to ``benchmarks/results/train_<command>.json``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import sys
import time
from dataclasses import replace

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from train.model import SHAPES  # noqa: E402
from train.shard_reader import MixtureSampler, ShardDataset, TokenBank  # noqa: E402
import train.swarm as swarm_module  # noqa: E402
from train.swarm import train_swarm  # noqa: E402
from train.text_shards import build_source_shards, corpus_texts  # noqa: E402
from train.trainer import TrainConfig, train_proxy  # noqa: E402

RESULTS = os.path.join(REPO, "benchmarks", "results")
DOMAINS = ["web", "code", "books", "wiki", "papers", "forum", "docs"]
# dense bf16 peak (no sparsity) by device name, for MFU
PEAK_BF16 = {"H100 PCIe": 756e12, "H100 NVL": 835e12, "H100": 989e12, "H200": 989e12, "GH200": 989e12,
             "A100": 312e12, "L40S": 362e12, "L4": 121e12, "A10G": 70e12, "B200": 2250e12}


# ---- shards ----

def shards(out: str, vocab: int, text_bytes: int, max_doc_bytes: int = 2_000_000,
           sources: list[str] | None = None) -> tuple[dict, dict, str]:
    """(sources, evals, origin): per-source train and eval shard dirs under ``out``, built once and reused."""
    root = os.path.join(out, f"shards-v{vocab}-{text_bytes}")
    stamp = os.path.join(root, "built.json")
    if os.path.isfile(stamp):
        with open(stamp) as f:
            built = json.load(f)
        return built["sources"], built["evals"], built["origin"]
    # documents cut so that even a small sample of a source of a few long books has 16 of them to split
    texts, origin = corpus_texts(text_bytes, min(max_doc_bytes, max(4096, text_bytes // 16)), sources or DOMAINS,
                                 scratch_dir=out)
    train_dirs, eval_dirs = build_source_shards(texts, root, vocab)
    with open(stamp, "w") as f:
        json.dump({"sources": train_dirs, "evals": eval_dirs, "origin": origin}, f, indent=2)
    return train_dirs, eval_dirs, origin


def write_result(name: str, report: dict) -> str:
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, name)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(report, f, indent=2)
    os.replace(tmp, path)
    return path


def machine() -> dict:
    return {"torch": torch.__version__, "cpu_count": os.cpu_count(), "threads": torch.get_num_threads(),
            "load_average": os.getloadavg(), "cuda": torch.cuda.is_available()}


# ---- basic: one proxy's learning, a swarm against solo runs ----

def cmd_basic(args) -> None:
    torch.set_num_threads(args.threads)
    names = args.sources.split(",")
    sources, evals, origin = shards(args.out, args.vocab, args.text_bytes, sources=names)
    config = TrainConfig(model=args.model, seq_len=args.seq_len, batch_size=args.batch_size, lr=args.lr,
                         eval_tokens=32_768, device=args.device, log_every=50)
    report: dict = {"args": vars(args), "text": origin, **machine()}
    solo = train_proxy({s: 1.0 for s in names}, sources, evals, config, args.solo_tokens, seed=0,
                       out_dir=os.path.join(args.out, "solo"))
    report["solo"] = {key: solo[key] for key in ("params", "non_embedding_params", "tokens_trained", "train_seconds",
                                                 "train_cpu_seconds", "tokens_per_cpu_second", "eval")}
    print(f"{args.model}: {solo['params']:,} params ({solo['non_embedding_params']:,} non-embedding), "
          f"{solo['tokens_trained']:,} tokens in {solo['train_cpu_seconds']:.1f} CPU-s of training "
          f"({solo['tokens_per_cpu_second']:,.0f} tokens/CPU-s)")
    for name, r in solo["eval"].items():
        print(f"  {name:>8}: eval loss {r['loss']:.3f} vs unigram entropy {r['unigram_entropy']:.3f} nats/token "
              f"({r['loss'] / r['unigram_entropy']:.2f}x), {r['bits_per_byte']:.3f} bits/byte")
    rng = np.random.default_rng(0)
    mixtures = [dict(zip(names, rng.dirichlet(np.ones(len(names))).tolist())) for _ in range(args.swarm)]
    config = replace(config, eval_tokens=8192)
    swarm = train_swarm(mixtures, sources, evals, config, args.swarm_tokens, seed=0)
    solos = [train_proxy(m, sources, evals, config, args.swarm_tokens, seed=0) for m in mixtures]
    worst = max(abs(a["eval"][s]["loss"] - b["eval"][s]["loss"]) for a, b in zip(swarm, solos) for s in names)
    tokens = args.swarm * swarm[0]["tokens_trained"]
    solos_cpu = sum(m["train_cpu_seconds"] for m in solos)
    report["swarm"] = {"members": args.swarm, "tokens_per_member": swarm[0]["tokens_trained"],
                       "swarm_train_cpu_s": swarm[0]["train_cpu_seconds"], "solo_runs_train_cpu_s": solos_cpu,
                       "swarm_tokens_per_cpu_s": tokens / swarm[0]["train_cpu_seconds"],
                       "solo_tokens_per_cpu_s": tokens / solos_cpu, "max_eval_loss_difference": worst}
    print(f"swarm of {args.swarm}: {tokens:,} tokens in {swarm[0]['train_cpu_seconds']:.1f} CPU-s of training "
          f"({tokens / swarm[0]['train_cpu_seconds']:,.0f} tokens/CPU-s); the same {args.swarm} one by one: "
          f"{solos_cpu:.1f} CPU-s ({tokens / solos_cpu:,.0f} tokens/CPU-s); largest eval-loss difference swarm vs "
          f"solo {worst:.2e} nats")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "bench_train.json"), "w") as f:
        json.dump(report, f, indent=2)


# ---- batches: building a batch ----

def loop_batch(sampler: MixtureSampler) -> torch.Tensor:
    """The former batch builder: one window at a time, a Python loop over the batch (same windows as the sampler's
    own next_batch; kept here as the baseline)."""
    picks = sampler._source_rng.choice(len(sampler.names), size=sampler.batch_size, p=sampler.probs)
    return torch.stack([sampler.datasets[s][int(sampler._next_windows(s, 1)[0])] for s in picks])


def cmd_batches(args) -> None:
    torch.set_num_threads(1)
    sources, _, origin = shards(args.out, args.vocab, args.text_bytes)
    report: dict = {"text": origin, **machine(), "results": []}
    datasets = {n: ShardDataset(d, args.seq_len) for n, d in sources.items()}
    weights = {n: 1.0 for n in datasets}
    bank = TokenBank(datasets)
    for k, batch in ((1, 8), (1, 32), (8, 8), (16, 32), (64, 16)):
        loop_samplers = [MixtureSampler(datasets, weights, batch, seed=i) for i in range(k)]
        vec_samplers = [MixtureSampler(datasets, weights, batch, seed=i, bank=bank) for i in range(k)]
        timings = {}
        for name, step in (("loop", lambda: torch.stack([loop_batch(s) for s in loop_samplers])),
                           ("gather", lambda: bank.gather(np.stack([s.next_starts() for s in vec_samplers])))):
            step()
            reps = max(5, 2000 // (k * batch))
            samples = []
            for _ in range(5):  # CPU time of this (single-threaded) process: the machine is shared
                t = time.process_time()
                for _ in range(reps):
                    step()
                samples.append((time.process_time() - t) / reps)
            timings[name] = min(samples)
        row = {"members": k, "batch": batch, "seq_len": args.seq_len, "loop_cpu_us": timings["loop"] * 1e6,
               "gather_cpu_us": timings["gather"] * 1e6, "speedup": timings["loop"] / timings["gather"]}
        report["results"].append(row)
        print(f"K={k:>3} x batch {batch:>3} windows of {args.seq_len + 1}: loop {row['loop_cpu_us']:,.0f} CPU-us, "
              f"one gather {row['gather_cpu_us']:,.0f} CPU-us ({row['speedup']:.1f}x)")
    print("->", write_result("train_batches.json", report))


# ---- cpu: throughput per config and swarm size ----

def swarm_throughput(config: TrainConfig, k: int, sources: dict, evals: dict, steps: int) -> dict:
    mixtures = [{s: 1.0 for s in sources}] * k
    m = train_swarm(mixtures, sources, {next(iter(evals)): next(iter(evals.values()))},
                    replace(config, eval_tokens=config.seq_len, log_every=10 ** 9),
                    steps * config.batch_size * config.seq_len, seed=0)[0]
    return {"tokens_per_s": m["steady_tokens_per_second"], "tokens_per_cpu_s": m["steady_tokens_per_cpu_second"],
            "params": m["params"], "non_embedding_params": m["non_embedding_params"],
            "peak_memory_bytes": m.get("peak_memory_bytes")}


def cmd_cpu(args) -> None:
    sources, evals, origin = shards(args.out, args.vocab, args.text_bytes)
    report: dict = {"text": origin, "vocab": args.vocab, "seq_len": args.seq_len, "batch_size": args.batch_size,
                    **machine(), "results": []}
    path = None
    for threads in [int(t) for t in args.threads.split(",")]:
        torch.set_num_threads(threads)
        for model in args.models.split(","):
            for impl in args.impls.split(","):
                for k in [int(k) for k in args.k.split(",")]:
                    # "bmm-unfused": the bmm swarm with the plain (unfused) output layer and loss
                    swarm_module.FUSED_LOSS_ON_CPU = impl != "bmm-unfused"
                    config = TrainConfig(model=model, seq_len=args.seq_len, batch_size=args.batch_size,
                                         device="cpu", swarm_impl=impl.split("-")[0])
                    steps = max(4, min(args.steps, math.ceil(args.tokens / (k * args.batch_size * args.seq_len))))
                    runs = [swarm_throughput(config, k, sources, evals, steps) for _ in range(args.repeat)]
                    row = {"threads": threads, "model": model, "impl": impl, "k": k, "steps": steps,
                           "tokens_per_s": statistics.median(r["tokens_per_s"] for r in runs),
                           "tokens_per_cpu_s": statistics.median(r["tokens_per_cpu_s"] for r in runs),
                           "all_tokens_per_cpu_s": [round(r["tokens_per_cpu_s"]) for r in runs],
                           "params": runs[0]["params"], "non_embedding_params": runs[0]["non_embedding_params"],
                           "load_average": os.getloadavg()[0]}
                    report["results"].append(row)
                    print(f"threads {threads} {model:>6} {impl:>4} K={k:>3}: {row['tokens_per_cpu_s']:>8,.0f} "
                          f"tokens/CPU-s, {row['tokens_per_s']:>8,.0f} tokens/s wall (load {row['load_average']:.1f})",
                          flush=True)
                    path = write_result(args.result, report)
    print("->", path)


# ---- learn: which small proxy learns most per CPU-second ----

def cmd_learn(args) -> None:
    """Solo proxies on the uniform mixture of the domains: eval loss against each eval set's unigram entropy for
    model:lr:tokens:batch:seq_len specs (model: a SHAPES name, or L<layers>-H<heads>-d<width>)."""
    from train import model as model_module

    torch.set_num_threads(1)
    sources, evals, origin = shards(args.out, args.vocab, args.text_bytes)
    path = os.path.join(RESULTS, args.result)
    report = json.load(open(path)) if os.path.isfile(path) else {"text": origin, "vocab": args.vocab, "runs": []}
    for spec in args.specs:
        model, lr, tokens, batch, seq_len = spec.split(":")
        if model not in SHAPES:
            layers, heads, width = (int(part[1:]) for part in model.split("-"))
            model_module.SHAPES[model] = dict(n_layer=layers, n_head=heads, d_model=width)
        config = TrainConfig(model=model, seq_len=int(seq_len), batch_size=int(batch), lr=float(lr),
                             eval_tokens=16_384, device="cpu", log_every=10 ** 9)
        m = train_proxy({s: 1.0 for s in sources}, sources, evals, config, int(tokens), seed=0)
        ratio = {e: r["loss"] / r["unigram_entropy"] for e, r in m["eval"].items()}
        row = {"spec": spec, "model": model, "shape": SHAPES[model], "lr": float(lr), "tokens": int(tokens),
               "batch_size": int(batch), "seq_len": int(seq_len), "params": m["params"],
               "non_embedding_params": m["non_embedding_params"],
               "loss_over_unigram_mean": float(np.mean(list(ratio.values()))),
               "loss_over_unigram": {e: round(v, 4) for e, v in ratio.items()},
               "train_cpu_seconds": m["train_cpu_seconds"], "tokens_per_cpu_second": m["tokens_per_cpu_second"],
               "load_average": os.getloadavg()[0]}
        report["runs"].append(row)
        print(f"{spec}: loss / unigram entropy {row['loss_over_unigram_mean']:.3f} (mean of {len(ratio)} eval sets), "
              f"{row['tokens_per_cpu_second']:,.0f} tokens/CPU-s", flush=True)
        write_result(args.result, report)


# ---- mix: the 64-run CPU swarm ----

def spearman(a, b) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def kfold_linear_spearman(x: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0) -> float:
    """Mean held-out Spearman of a least-squares fit y ~ x (mixture weights, with intercept) over k folds."""
    order = np.random.default_rng(seed).permutation(len(y))
    scores = []
    for f in range(folds):
        test = order[f::folds]
        train = np.setdiff1d(order, test)
        coef, *_ = np.linalg.lstsq(x[train], y[train], rcond=None)
        scores.append(spearman(x[test] @ coef, y[test]))
    return float(np.mean(scores))


def cmd_mix(args) -> None:
    import pandas as pd

    from mixes.run import run_mixtures

    torch.set_num_threads(1)
    sources, evals, origin = shards(args.out, args.vocab, args.text_bytes)
    names = list(sources)
    rng = np.random.default_rng(args.seed)
    ratios = pd.DataFrame(rng.dirichlet(np.full(len(names), args.alpha), size=args.runs),
                          index=[f"r{i:03d}" for i in range(args.runs)], columns=names)
    config = TrainConfig(model=args.model, seq_len=args.seq_len, batch_size=args.batch_size, lr=args.lr,
                         eval_tokens=args.eval_tokens, device="cpu")
    out_dir = os.path.join(args.out, f"mix-{args.model}-v{args.vocab}-{args.tokens}-{args.runs}")
    wall, cpu = time.perf_counter(), time.process_time()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    metrics = run_mixtures(ratios, sources, evals, config, args.tokens, args.seed, out_dir,
                           swarm_size=args.swarm_size, workers=args.workers)
    wall = time.perf_counter() - wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = time.process_time() - cpu + (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    per_run = []
    for run_id in ratios.index:
        with open(os.path.join(out_dir, "runs", run_id, "metrics.json")) as f:
            m = json.load(f)
        per_run.append({e: r["loss"] / r["unigram_entropy"] for e, r in m["eval"].items()})
        entropies = {e: r["unigram_entropy"] for e, r in m["eval"].items()}
    ratio = pd.DataFrame(per_run, index=ratios.index)
    losses = metrics[[f"loss/{e}" for e in evals]]
    x = np.column_stack([ratios.to_numpy(), np.ones(len(ratios))])
    report = {"text": origin, **machine(), "args": vars(args), "runs": args.runs, "domains": names,
              "config": config.to_dict(), "token_budget": args.tokens, "params": int(metrics["params"].iloc[0]),
              "wall_seconds": wall, "cpu_seconds": cpu, "cpu_minutes_per_64_runs": cpu / 60 * 64 / args.runs,
              "trained_seconds_sum": float(metrics["train_seconds"].sum()),
              "unigram_entropy": entropies,
              "loss_over_unigram": {"mean": float(ratio.to_numpy().mean()),
                                    "per_eval_mean": ratio.mean().round(4).to_dict(),
                                    "per_eval_min": ratio.min().round(4).to_dict(),
                                    "runs_below_unigram_on_every_eval": int((ratio < 1).all(axis=1).sum())},
              "loss_spread": {e: [float(losses[f"loss/{e}"].min()), float(losses[f"loss/{e}"].max())]
                              for e in evals},
              "linear_fit_5fold_spearman": {
                  "mean_loss": kfold_linear_spearman(x, losses.mean(axis=1).to_numpy()),
                  **{e: kfold_linear_spearman(x, losses[f"loss/{e}"].to_numpy()) for e in evals}}}
    print(json.dumps({k: report[k] for k in ("wall_seconds", "cpu_seconds", "cpu_minutes_per_64_runs",
                                             "loss_over_unigram", "linear_fit_5fold_spearman")}, indent=2))
    print("->", write_result(args.result, report))


# ---- gpu ----

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--out", default=os.path.join(REPO, "benchmarks", "out", "train"))
    common.add_argument("--vocab", type=int, default=None, help="BPE vocabulary trained on the text (default: 4096, "
                                                                 "the demo pipeline's; gpu: 8192)")
    common.add_argument("--text-bytes", type=int, default=None, help="text per source (default: all of it; gpu: "
                                                                      "1.5 MB)")
    sub = ap.add_subparsers(dest="command")

    def add(name: str, help: str):
        return sub.add_parser(name, help=help, parents=[common])

    basic = add("basic", "one proxy's learning; a swarm of --swarm against its solo runs")
    basic.add_argument("--sources", default=",".join(DOMAINS))
    basic.add_argument("--model", default="1m")
    basic.add_argument("--seq-len", type=int, default=128)
    basic.add_argument("--batch-size", type=int, default=8)
    basic.add_argument("--lr", type=float, default=2e-3)
    basic.add_argument("--solo-tokens", type=int, default=300_000)
    basic.add_argument("--swarm", type=int, default=8)
    basic.add_argument("--swarm-tokens", type=int, default=20_000, help="per member")
    basic.add_argument("--device", default="cpu")
    basic.add_argument("--threads", type=int, default=1)

    batches = add("batches", "batch building: window-by-window loop vs one vectorised gather")
    batches.add_argument("--seq-len", type=int, default=64)

    cpu = add("cpu", "CPU tokens/s per model config, swarm size K, implementation and threads")
    cpu.add_argument("--models", default="tiny,mix-s,1m")
    cpu.add_argument("--impls", default="bmm,vmap,bmm-unfused")
    cpu.add_argument("--k", default="1,2,4,8,16,32")
    cpu.add_argument("--threads", default="1")
    cpu.add_argument("--seq-len", type=int, default=64)
    cpu.add_argument("--batch-size", type=int, default=8)
    cpu.add_argument("--steps", type=int, default=12, help="at most this many steps per measurement")
    cpu.add_argument("--tokens", type=int, default=60_000, help="about this many tokens per measurement")
    cpu.add_argument("--repeat", type=int, default=3, help="measurements per point (the median is reported)")
    cpu.add_argument("--result", default="train_cpu.json")

    learn = add("learn", "solo proxies on the uniform mixture: loss vs unigram entropy per model/lr/budget")
    learn.add_argument("specs", nargs="+", help="model:lr:tokens:batch:seq_len, e.g. mix-s:1e-2:600000:8:64 or "
                                                "L4-H4-d64:1e-2:1000000:8:64")
    learn.add_argument("--result", default="train_proxy_configs.json")

    mix = add("mix", "the CPU mixture swarm: --runs proxies on random mixtures via run_mixtures")
    mix.add_argument("--runs", type=int, default=64)
    mix.add_argument("--alpha", type=float, default=1.0, help="Dirichlet concentration of the random mixtures")
    mix.add_argument("--model", default="mix-s")
    mix.add_argument("--seq-len", type=int, default=64)
    mix.add_argument("--batch-size", type=int, default=8)
    mix.add_argument("--lr", type=float, default=1e-2)
    mix.add_argument("--tokens", type=int, default=600_000, help="token budget per proxy run")
    mix.add_argument("--eval-tokens", type=int, default=16_384)
    mix.add_argument("--swarm-size", type=int, default=None)
    mix.add_argument("--workers", type=int, default=None)
    mix.add_argument("--seed", type=int, default=0)
    mix.add_argument("--result", default="train_mix_cpu.json")

    gpu = add("gpu", "GPU: single-model tokens/s and MFU; proxy runs per GPU-hour, swarm vs sequential "
                     "(benchmarks/gpu_check.sh)")
    gpu.add_argument("--dry-run", action="store_true", help="CPU check of the whole script: tiny sizes, few steps")
    gpu.add_argument("--budget-s", type=float, default=450, help="stop starting measurements after this long")
    gpu.add_argument("--single-steps", type=int, default=30)
    gpu.add_argument("--single-batch-20m", type=int, default=64)
    gpu.add_argument("--single-batch-100m", type=int, default=32)
    gpu.add_argument("--proxy-steps", type=int, default=25)
    gpu.add_argument("--proxy-batch", type=int, default=16, help="sequences per proxy per step")
    gpu.add_argument("--proxy-seq-len", type=int, default=512)
    gpu.add_argument("--tokens-per-param", type=int, default=20, help="a proxy run's budget (Chinchilla: 20)")
    gpu.add_argument("--result", default=None)
    gpu.add_argument("--pytest-status", type=int, default=None, help="exit status of pytest -m gpu (gpu_check.sh)")

    if len(sys.argv) == 1 or sys.argv[1].startswith("-") and sys.argv[1] not in ("-h", "--help"):
        sys.argv.insert(1, "basic")  # the former command line: flags without a command
    args = ap.parse_args()
    # per-command defaults here, not with set_defaults: the options are shared by every command's parser
    gpu_command = args.command == "gpu"
    args.vocab = args.vocab or (8192 if gpu_command else 4096)
    args.text_bytes = args.text_bytes or (1_500_000 if gpu_command else 50_000_000)
    commands = {"basic": cmd_basic, "batches": cmd_batches, "cpu": cmd_cpu, "learn": cmd_learn, "mix": cmd_mix,
                "gpu": lambda a: __import__("bench_train_gpu").cmd_gpu(a)}
    commands[args.command](args)


if __name__ == "__main__":
    main()
