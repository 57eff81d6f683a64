"""The report's figures, drawn with matplotlib (Agg, no display) and returned as base64 PNG for ``<img>`` tags, so
the page works offline and from any folder."""
from __future__ import annotations

import base64
import io

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

KEPT, REJECTED, MIX = "#3b7dd8", "#d8763b", "#6a6a6a"


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def funnel(stages: list[str], kept: list[int], rejected: list[int], title: str) -> str:
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(stages) + 1.2))
    y = np.arange(len(stages))[::-1]
    ax.barh(y, kept, color=KEPT, label="kept")
    ax.barh(y, rejected, left=kept, color=REJECTED, label="rejected")
    ax.set_yticks(y, stages)
    ax.set_title(title)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def horizontal(labels: list[str], values: list[float], title: str, xlabel: str = "", color: str = KEPT) -> str:
    fig, ax = plt.subplots(figsize=(8, 0.3 * len(labels) + 1.2))
    y = np.arange(len(labels))[::-1]
    ax.barh(y, values, color=color)
    ax.set_yticks(y, [lab if len(lab) <= 48 else lab[:45] + "..." for lab in labels], fontsize=8)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def stacked_sources(sources: list[str], layers: list[tuple[str, list[int]]], title: str) -> str:
    """One bar per source, split into what each stage rejected and what was kept."""
    fig, ax = plt.subplots(figsize=(8, 0.4 * len(sources) + 1.6))
    y = np.arange(len(sources))[::-1]
    left = np.zeros(len(sources))
    cmap = plt.get_cmap("tab20")
    for i, (name, values) in enumerate(layers):
        color = KEPT if name == "kept" else cmap(i % 20)
        ax.barh(y, values, left=left, color=color, label=name)
        left += np.asarray(values, dtype=float)
    ax.set_yticks(y, sources)
    ax.set_title(title)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def grouped(labels: list[str], series: list[tuple[str, list[float], str]], title: str, ylabel: str) -> str:
    fig, ax = plt.subplots(figsize=(8, 3.2))
    x = np.arange(len(labels))
    width = 0.8 / max(len(series), 1)
    for i, (name, values, color) in enumerate(series):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=name, color=color)
    ax.set_xticks(x, labels, rotation=30, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def cluster_sizes(sizes: dict[int, int]) -> str:
    ks = sorted(sizes)
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.bar([str(k) for k in ks], [sizes[k] for k in ks], color=KEPT)
    ax.set_xlabel("documents in the cluster")
    ax.set_ylabel("clusters")
    ax.set_title("Duplicate clusters by size")
    if max(sizes.values()) > 50 * max(min(sizes.values()), 1):
        ax.set_yscale("log")
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def score_histogram(bins: np.ndarray, hists: dict[str, np.ndarray]) -> str:
    fig, ax = plt.subplots(figsize=(8, 3))
    centers = (bins[:-1] + bins[1:]) / 2
    for name, color in (("kept", KEPT), ("rejected", REJECTED)):
        if name in hists:
            ax.bar(centers, hists[name], width=bins[1] - bins[0], alpha=0.7, color=color, label=name)
    ax.set_xlabel("quality score")
    ax.set_ylabel("documents")
    ax.set_title("Quality scores")
    ax.legend(fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)
