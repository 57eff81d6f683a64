"""Proxy language models for data-mixture experiments: ``train_proxy`` trains one, ``train_swarm`` many at once."""
from train.swarm import train_swarm
from train.trainer import TrainConfig, load_checkpoint, train_proxy

__all__ = ["TrainConfig", "load_checkpoint", "train_proxy", "train_swarm"]
