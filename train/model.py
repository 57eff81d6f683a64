"""A GPT-style decoder: RMSNorm, rotary position embeddings, SwiGLU MLP, tied embeddings by default, no biases.

Attention is written as matmul + causal mask rather than ``F.scaled_dot_product_attention`` because the swarm
trains many copies under ``torch.func.vmap`` and SDPA has no vmap batching rule (it falls back to a slow loop).
Set ``attention="sdpa"`` for a single model on a GPU, where the fused kernel is worth it.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class ModelConfig:
    vocab_size: int
    seq_len: int
    n_layer: int
    n_head: int
    d_model: int
    rope_base: float = 10000.0
    norm_eps: float = 1e-5
    attention: str = "matmul"  # "matmul" (vmap-able, any device) or "sdpa" (fused kernel, single model)
    tie_embeddings: bool = True

    @property
    def ffn_hidden(self) -> int:
        # SwiGLU with 8/3 d keeps the MLP's parameters at 8 d^2, as a 4d GELU MLP; round up to a multiple of 32
        return 32 * math.ceil(8 * self.d_model / 3 / 32)

    def to_dict(self) -> dict:
        return asdict(self)


# Shapes of the named proxies; the name is the approximate count of non-embedding parameters (as in RegMix),
# the vocabulary comes from the shards' tokenizer.
SHAPES: dict[str, dict[str, int]] = {
    "tiny": dict(n_layer=2, n_head=2, d_model=32),     # ~25k: unit tests
    # the CPU mixture swarm's proxy (benchmarks/bench_train.py mix): with a 4k-8k vocabulary the tied output layer
    # and its softmax are most of a small model's cost, so width is what a CPU pays for
    "mix-s": dict(n_layer=2, n_head=2, d_model=32),
    "1m": dict(n_layer=5, n_head=4, d_model=128),      # ~1.0M
    "5m": dict(n_layer=6, n_head=4, d_model=256),      # ~4.8M
    "15m": dict(n_layer=8, n_head=6, d_model=384),     # ~14M: the GPU benchmark's larger proxy (Olmix: 14M)
    "20m": dict(n_layer=8, n_head=8, d_model=448),     # ~19M
    "50m": dict(n_layer=10, n_head=10, d_model=640),   # ~50M
    "100m": dict(n_layer=14, n_head=12, d_model=768),  # ~99M
}


def model_config(name: str, vocab_size: int, seq_len: int, attention: str = "matmul",
                 tie_embeddings: bool = True) -> ModelConfig:
    if name not in SHAPES:
        raise ValueError(f"unknown model config {name!r}; choose one of {sorted(SHAPES)}")
    if attention not in ("matmul", "sdpa"):
        raise ValueError(f"attention must be 'matmul' or 'sdpa', got {attention!r}")
    return ModelConfig(vocab_size=vocab_size, seq_len=seq_len, attention=attention, tie_embeddings=tie_embeddings,
                       **SHAPES[name])


def next_token_loss(logits, windows, reduction: str = "mean"):
    """Cross-entropy of logits (B, T, vocab) computed from windows[:, :-1] against targets windows[:, 1:]."""
    return F.cross_entropy(logits.flatten(0, 1).float(), windows[:, 1:].flatten(), reduction=reduction)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        # normalise in float32: under bf16 autocast the mean of squares loses too much precision
        x32 = x.float()
        return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight


def rotary_tables(seq_len: int, head_dim: int, base: float) -> tuple[torch.Tensor, torch.Tensor]:
    inv_freq = 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    angles = torch.outer(torch.arange(seq_len, dtype=torch.float32), inv_freq)  # (T, head_dim/2)
    return angles.cos(), angles.sin()


def apply_rotary(x, cos, sin):
    """Rotate pairs (x[..., i], x[..., i + head_dim/2]) of a (B, H, T, head_dim) tensor by position angles."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.n_head = cfg.n_head
        self.use_sdpa = cfg.attention == "sdpa"
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model, bias=False)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)

    def forward(self, x, cos, sin, causal_mask):
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=-1)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        if self.use_sdpa:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.size(-1)))
            y = scores.masked_fill(causal_mask, float("-inf")).softmax(dim=-1) @ v
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


class SwiGLU(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.gate = nn.Linear(cfg.d_model, cfg.ffn_hidden, bias=False)
        self.up = nn.Linear(cfg.d_model, cfg.ffn_hidden, bias=False)
        self.down = nn.Linear(cfg.ffn_hidden, cfg.d_model, bias=False)

    def forward(self, x):
        return self.down(F.silu(self.gate(x)) * self.up(x))


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.attn_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.attn = Attention(cfg)
        self.mlp_norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.mlp = SwiGLU(cfg)

    def forward(self, x, cos, sin, causal_mask):
        x = x + self.attn(self.attn_norm(x), cos, sin, causal_mask)
        return x + self.mlp(self.mlp_norm(x))


class GPT(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        if not cfg.tie_embeddings:
            self.lm_head = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        cos, sin = rotary_tables(cfg.seq_len, cfg.d_model // cfg.n_head, cfg.rope_base)
        # derived tables, not state: kept out of checkpoints
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.register_buffer("causal_mask", torch.ones(cfg.seq_len, cfg.seq_len).triu(1).bool(), persistent=False)
        self.reset_parameters()

    def reset_parameters(self):
        # GPT-2 init: N(0, 0.02), residual output projections scaled down by sqrt(2 * n_layer)
        for name, p in self.named_parameters():
            if name.endswith("norm.weight"):
                nn.init.ones_(p)
            elif name.endswith(("attn.proj.weight", "mlp.down.weight")):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * self.cfg.n_layer))
            else:
                nn.init.normal_(p, std=0.02)

    def forward(self, idx):
        """Logits (B, T, vocab) for token ids idx (B, T), T <= seq_len."""
        T = idx.size(1)
        cos, sin, mask = self.rope_cos[:T], self.rope_sin[:T], self.causal_mask[:T, :T]
        x = self.tok_emb(idx)
        for block in self.blocks:
            x = block(x, cos, sin, mask)
        return F.linear(self.norm(x), self.output_weight)

    @property
    def output_weight(self) -> torch.Tensor:
        """The output layer: the input embedding matrix itself when tied, else its own matrix."""
        return self.tok_emb.weight if self.cfg.tie_embeddings else self.lm_head.weight

    def loss(self, windows, reduction: str = "mean"):
        """Next-token cross-entropy (nats) on windows (B, T+1): predict windows[:, 1:] from windows[:, :-1]."""
        return next_token_loss(self(windows[:, :-1]), windows, reduction)

    def num_params(self, embedding: bool = True) -> int:
        n = sum(p.numel() for p in self.parameters())
        return n if embedding else n - self.tok_emb.weight.numel()
