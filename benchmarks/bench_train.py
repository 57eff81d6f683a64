"""Training benchmark on the shared corpora: one proxy's learning and throughput, and a swarm against solo runs.

    .venv/bin/python benchmarks/bench_train.py                       # ~3 CPU-minutes with the defaults
    .venv/bin/python benchmarks/bench_train.py --model 5m --device cuda --solo-tokens 20000000

Builds per-source shards (byte-level BPE trained here) under ``--out``, then
1. trains one proxy on the uniform mixture and reports eval loss against each eval set's unigram entropy;
2. trains a swarm of ``--swarm`` proxies on random mixtures, then each of them alone, and reports throughput of
   both and the largest swarm-vs-solo difference.
Throughput is training tokens per CPU-second of this process (evaluation excluded): other jobs share the CPU, so wall
time says little here; on a GPU, read ``tokens_per_second`` in the metrics files.
Results go to ``<out>/bench_train.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from curation.shards.tokenizer import train_byte_level_bpe  # noqa: E402
from train.swarm import train_swarm  # noqa: E402
from train.text_shards import read_texts, write_text_shards  # noqa: E402
from train.trainer import TrainConfig, train_proxy  # noqa: E402

CORPORA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "data", "corpora")


def build_shards(out: str, sources: list[str], text_bytes: int, vocab_size: int) -> tuple[dict, dict]:
    texts = {s: read_texts(os.path.join(CORPORA, f"{s}.jsonl.zst"), text_bytes, 40_000) for s in sources}
    tokenizer = os.path.join(out, "tokenizer.json")
    info = train_byte_level_bpe((t for ts in texts.values() for t in ts), vocab_size, tokenizer)
    train_dirs, eval_dirs = {}, {}
    for source, source_texts in texts.items():
        held_out = len(source_texts) // 8 + 1
        train_dirs[source] = os.path.join(out, "shards", source)
        eval_dirs[source] = os.path.join(out, "shards", "eval", source)
        write_text_shards(source_texts[held_out:], tokenizer, info, train_dirs[source], source)
        write_text_shards(source_texts[:held_out], tokenizer, info, eval_dirs[source], source)
    return train_dirs, eval_dirs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="benchmarks/out/train")
    ap.add_argument("--sources", default="web,code,books,wiki,papers,forum,docs")
    ap.add_argument("--text-bytes", type=int, default=500_000, help="text per source")
    ap.add_argument("--vocab", type=int, default=2048)
    ap.add_argument("--model", default="1m")
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--solo-tokens", type=int, default=300_000)
    ap.add_argument("--swarm", type=int, default=8)
    ap.add_argument("--swarm-tokens", type=int, default=20_000, help="per member")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    names = args.sources.split(",")
    sources, evals = build_shards(args.out, names, args.text_bytes, args.vocab)
    config = TrainConfig(model=args.model, seq_len=args.seq_len, batch_size=args.batch_size, lr=args.lr,
                         eval_tokens=32_768, device=args.device, log_every=50)
    report: dict = {"args": vars(args), "torch": torch.__version__, "cpu_count": os.cpu_count()}

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
    # a lighter evaluation: it only has to show that members equal their solo runs
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
    with open(os.path.join(args.out, "bench_train.json"), "w") as f:
        json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
