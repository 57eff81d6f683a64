"""The mixture search's report: PNG plots and one self-contained HTML page (images embedded), readable offline.

Plots: predicted vs actual objective of runs the fit did not see (k-fold out-of-fold predictions), the chosen
weights beside the natural and uniform mixtures and the caps, each source's effect on the objective, the
validation runs' objective per mixture (mean +- std over fresh seeds), and training-loss curves.
"""
from __future__ import annotations

import base64
import html
import io
import os

import numpy as np
import pandas as pd


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path


def plot_predicted_vs_actual(oof: pd.DataFrame, path: str, regressor: str) -> str:
    """``oof``: columns ``actual``, ``predicted`` (out-of-fold)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4.2))
    ax.scatter(oof["actual"], oof["predicted"], s=14, alpha=0.75)
    lo = float(min(oof["actual"].min(), oof["predicted"].min()))
    hi = float(max(oof["actual"].max(), oof["predicted"].max()))
    ax.plot([lo, hi], [lo, hi], color="grey", lw=1, ls="--")
    rho = oof["actual"].rank().corr(oof["predicted"].rank())
    ax.set_xlabel("actual objective (proxy run)")
    ax.set_ylabel("predicted, held-out fold")
    ax.set_title(f"{regressor}: Spearman {rho:.3f} on runs it did not see", fontsize=10)
    return _save(fig, path)


def plot_weights(weights: pd.DataFrame, caps: dict[str, float], path: str) -> str:
    """``weights``: index = source, one column per mixture (chosen, natural, uniform, ...)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    n = len(weights.columns)
    x = np.arange(len(weights.index))
    width = 0.8 / n
    for i, col in enumerate(weights.columns):
        ax.bar(x + (i - (n - 1) / 2) * width, weights[col].values, width, label=col)
    capped = [min(caps.get(s, 1.0), 1.0) for s in weights.index]
    ax.scatter(x, capped, marker="_", s=400, color="black", label="cap", zorder=3)
    ax.set_xticks(x, weights.index, rotation=30, ha="right")
    ax.set_ylabel("token share")
    ax.legend(fontsize=8)
    ax.set_title("mixture weights", fontsize=10)
    return _save(fig, path)


def plot_effects(effects: pd.Series, path: str) -> str:
    """``effects``: per source, Spearman correlation of its weight with the objective across the swarm."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    order = effects.sort_values()
    colors = ["tab:green" if v < 0 else "tab:red" for v in order.values]
    ax.barh(order.index, order.values, color=colors)
    ax.axvline(0, color="grey", lw=1)
    ax.set_xlabel("Spearman(weight, objective): < 0 lowers the loss")
    ax.set_title("per-source effect across the swarm", fontsize=10)
    return _save(fig, path)


def plot_validation(summary: pd.DataFrame, path: str) -> str:
    """``summary``: index = mixture, columns ``mean``, ``std`` of the objective over fresh seeds."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    order = summary.sort_values("mean")
    ax.barh(order.index, order["mean"], xerr=order["std"], color="tab:blue", alpha=0.8, capsize=4)
    span = float(order["mean"].max() - order["mean"].min()) or 1.0
    ax.set_xlim(float(order["mean"].min()) - span, float(order["mean"].max()) + span)
    ax.set_xlabel("objective (mean eval loss, nats/token): lower is better")
    ax.set_title("validation: retrained with fresh seeds (mean +- std)", fontsize=10)
    return _save(fig, path)


def plot_curves(curves: dict[str, list[list[float]]], path: str) -> str:
    """``curves``: mixture -> [[step, train loss], ...]."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for name, points in curves.items():
        if points:
            steps, losses = zip(*points)
            ax.plot(steps, losses, label=name, lw=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (nats/token)")
    ax.legend(fontsize=8)
    ax.set_title("proxy training curves (first validation seed)", fontsize=10)
    return _save(fig, path)


def _img(path: str) -> str:
    with open(path, "rb") as f:
        data = base64.b64encode(f.read()).decode()
    return f'<img alt="{html.escape(os.path.basename(path))}" src="data:image/png;base64,{data}">'


def _table(df: pd.DataFrame, fmt: str = "{:.4f}") -> str:
    def cell(v):
        return fmt.format(v) if isinstance(v, (float, np.floating)) else html.escape(str(v))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in [df.index.name or "", *df.columns])
    rows = "".join("<tr>" + f"<td>{html.escape(str(i))}</td>" + "".join(f"<td>{cell(v)}</td>" for v in row)
                   + "</tr>" for i, row in zip(df.index, df.itertuples(index=False)))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:24px auto;padding:0 16px;color:#222}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;
text-align:right}th{background:#f4f4f4}td:first-child{text-align:left}
.grid{display:flex;flex-wrap:wrap;gap:12px}.grid img{max-width:540px;border:1px solid #eee}
.note{color:#555;font-size:13px}"""


def write_html(path: str, title: str, sections: list[tuple[str, str]]) -> str:
    """One page: ``sections`` are (heading, HTML body) pairs."""
    body = "".join(f"<h2>{html.escape(h)}</h2>{b}" for h, b in sections)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>")
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
    return path


def images(paths: list[str]) -> str:
    return '<div class="grid">' + "".join(_img(p) for p in paths) + "</div>"


def table(df: pd.DataFrame, fmt: str = "{:.4f}") -> str:
    return _table(df, fmt)
