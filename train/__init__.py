"""Proxy language models for data-mixture experiments: ``train_proxy`` trains one, ``train_swarm`` many at once.

The names below load their modules (and torch) on first use, so importing a submodule that needs no torch
(``train.cli`` for ``curate --help``) does not pay torch's ~1 CPU-s import."""
from __future__ import annotations

import importlib

_EXPORTS = {"TrainConfig": "train.trainer", "load_checkpoint": "train.trainer", "train_proxy": "train.trainer",
            "train_swarm": "train.swarm"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'train' has no attribute {name!r}")
