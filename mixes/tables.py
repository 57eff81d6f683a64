"""The two tables of a mixture swarm, read and checked: ``ratios`` (run id -> weight per domain) and ``metrics``
(run id -> metric columns), as CSV or Parquet, joined on the run id.

The id column is ``run`` or ``index`` (RegMix's released CSVs use ``index``); ids are kept as strings, so ``1`` in
one table joins ``1`` in the other whatever their dtypes. The ratios' columns after the id are the domains, in
their order: that order is the one domain list every later step indexes by name (a fitted model stores it, and
predict/optimize reorder their inputs by it). Rows are normalised to sum to 1.

Every problem is one :class:`MixInputError` (a ``ValueError``) whose message is a single line naming the file, the
column or the runs at fault.
"""
from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from typing import Union

import numpy as np
import pandas as pd

ID_COLUMNS = ("run", "index")

TableLike = Union[str, "os.PathLike[str]", pd.DataFrame]


class MixInputError(ValueError):
    """Bad input to the mixture optimizer (a table, a target, weights, caps); the message is one line."""


def _few(items, k: int = 5) -> str:
    items = [str(i) for i in items]
    return ", ".join(items[:k]) + (f", ... ({len(items)} in all)" if len(items) > k else "")


def read_table(source: TableLike, what: str = "table") -> pd.DataFrame:
    """A table indexed by run id (strings), from a CSV/Parquet path or a DataFrame.

    The id is the ``run`` or ``index`` column (or, for a DataFrame, its index when it has neither column).
    """
    if isinstance(source, pd.DataFrame):
        df = source.copy()
        label = what
        idcol = next((c for c in ID_COLUMNS if c in df.columns), None)
        if idcol is None:
            df.index = df.index.map(str)
            df.index.name = "run"
            return _check_ids(df, label)
    else:
        path = os.fspath(source)
        label = path
        if not os.path.isfile(path):
            raise MixInputError(f"{what} not found: {path}")
        try:
            if path.lower().endswith((".parquet", ".pq")):
                df = pd.read_parquet(path)
            else:
                df = pd.read_csv(path, dtype={c: str for c in ID_COLUMNS})
        except (ValueError, OSError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise MixInputError(f"{path}: cannot read the {what}: {first}") from None
        idcol = next((c for c in ID_COLUMNS if c in df.columns), None)
        if idcol is None:
            raise MixInputError(f"{path}: no run id column (expected one named {' or '.join(ID_COLUMNS)}); "
                                f"columns: {_few(df.columns)}")
    if df[idcol].isna().any():
        raise MixInputError(f"{label}: {int(df[idcol].isna().sum())} rows have no run id in column {idcol!r}")
    df[idcol] = df[idcol].map(_id_str)
    df = df.set_index(idcol)
    df.index.name = "run"
    return _check_ids(df, label)


def _id_str(v) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def _check_ids(df: pd.DataFrame, label: str) -> pd.DataFrame:
    dup = df.index[df.index.duplicated()].unique()
    if len(dup):
        raise MixInputError(f"{label}: duplicate run ids: {_few(dup)}")
    return df


def load_ratios(source: TableLike, what: str = "ratios") -> pd.DataFrame:
    """The ratios table: one float column per domain (the order kept), every row >= 0 and normalised to sum 1."""
    df = read_table(source, what)
    label = what if isinstance(source, pd.DataFrame) else os.fspath(source)
    if df.shape[1] == 0:
        raise MixInputError(f"{label}: no domain columns besides the run id")
    if not len(df):
        raise MixInputError(f"{label}: no runs")
    bad_cols = []
    out = {}
    for col in df.columns:
        values = pd.to_numeric(df[col], errors="coerce")
        if values.isna().any():
            bad_rows = df.index[values.isna()]
            bad_cols.append(f"{col} (runs {_few(bad_rows, 3)}: {df.loc[bad_rows[0], col]!r})")
        out[str(col)] = values.astype(float)
    if bad_cols:
        raise MixInputError(f"{label}: non-numeric or missing weights in {'; '.join(bad_cols[:3])}")
    w = pd.DataFrame(out, index=df.index)
    neg = w.lt(0).any(axis=1)
    if neg.any():
        run = w.index[neg][0]
        col = w.columns[w.loc[run].lt(0).to_numpy()][0]
        raise MixInputError(f"{label}: negative weights in {int(neg.sum())} runs (run {run}: {col}={w.loc[run, col]})")
    if not np.isfinite(w.to_numpy()).all():
        raise MixInputError(f"{label}: infinite weights")
    total = w.sum(axis=1)
    if (total <= 0).any():
        raise MixInputError(f"{label}: runs whose weights are all zero: {_few(w.index[total <= 0])}")
    return w.div(total, axis=0)


def load_metrics(source: TableLike, what: str = "metrics") -> pd.DataFrame:
    """The metrics table indexed by run id; columns as they are (checked when a target is taken from them)."""
    df = read_table(source, what)
    if df.shape[1] == 0:
        label = what if isinstance(source, pd.DataFrame) else os.fspath(source)
        raise MixInputError(f"{label}: no metric columns besides the run id")
    return df


def parse_targets(target: str | Mapping[str, float] | None, targets: Mapping[str, float] | None = None
                  ) -> dict[str, float]:
    """One column ``{col: 1.0}``, or an objective: a weighted sum of metric columns ``{col: weight}``."""
    if target is not None and targets is not None:
        raise MixInputError("give a target column or an objective (targets={column: weight}), not both")
    spec = targets if targets is not None else target
    if spec is None:
        raise MixInputError("no target: name a metric column (or an objective of several columns with weights)")
    if isinstance(spec, str):
        return {spec: 1.0}
    out = {str(k): float(v) for k, v in dict(spec).items()}
    if not out:
        raise MixInputError("the objective names no metric column")
    if not all(np.isfinite(v) for v in out.values()) or all(v == 0 for v in out.values()):
        raise MixInputError(f"objective weights must be finite and not all zero: {out}")
    return out


def target_name(targets: Mapping[str, float]) -> str:
    """``col`` for a single column with weight 1, else ``objective``."""
    if len(targets) == 1 and next(iter(targets.values())) == 1.0:
        return next(iter(targets))
    return "objective"


def check_columns(metrics: pd.DataFrame, columns, label: str = "metrics") -> None:
    """Each column exists in the metrics table; the error names the closest existing columns."""
    available = [str(c) for c in metrics.columns]
    for col in columns:
        if col in metrics.columns:
            continue
        close = difflib.get_close_matches(col, available, n=3, cutoff=0.5)
        if not close:  # a short name inside a long one: pile_cc -> metric/the_pile_pile_cc_val_loss
            close = [c for c in available if col.lower() in c.lower()][:3]
        hint = f"; did you mean {' or '.join(close)}?" if close else f"; columns: {_few(available, 6)}"
        raise MixInputError(f"{label}: no target column {col!r}{hint}")


def target_values(metrics: pd.DataFrame, targets: Mapping[str, float], runs, label: str = "metrics") -> pd.Series:
    """The target (or weighted objective) for ``runs``; errors for missing columns, missing runs, missing values."""
    check_columns(metrics, targets, label)
    runs = pd.Index(runs)
    missing = runs.difference(metrics.index, sort=False)
    if len(missing):
        raise MixInputError(f"{label}: {len(missing)} of {len(runs)} runs in the ratios have no metrics: "
                            f"{_few(missing)}")
    cols = metrics.loc[runs, list(targets)].apply(pd.to_numeric, errors="coerce")
    bad = cols.isna().any(axis=1) | ~np.isfinite(cols.to_numpy(dtype=float)).all(axis=1)
    if bad.any():
        col = cols.columns[cols[bad].isna().any(axis=0).to_numpy()]
        raise MixInputError(f"{label}: {int(bad.sum())} runs have no numeric value for "
                            f"{', '.join(map(str, col)) or 'the target'}: {_few(runs[bad.to_numpy()])}")
    y = sum(cols[c] * w for c, w in targets.items())
    y.name = target_name(targets)
    return y.astype(float)


def join(ratios: TableLike, metrics: TableLike, target: str | Mapping[str, float] | None = None,
         targets: Mapping[str, float] | None = None) -> tuple[pd.DataFrame, pd.Series, dict[str, float]]:
    """(weights of every run in the ratios, their target values, the objective ``{column: weight}``)."""
    spec = parse_targets(target, targets)
    label = "metrics" if isinstance(metrics, pd.DataFrame) else os.fspath(metrics)
    w = load_ratios(ratios)
    m = load_metrics(metrics)
    y = target_values(m, spec, w.index, label)
    return w, y, spec


def write_table(df: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a run-indexed table as CSV or Parquet (by extension), the id in a ``run`` column."""
    path = os.fspath(path)
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    out = df.copy()
    out.index.name = "run"
    out = out.reset_index()
    if path.lower().endswith((".parquet", ".pq")):
        out.to_parquet(path, index=False)
    else:
        out.to_csv(path, index=False)
