"""The keep policy of a duplicate group: an ordered list such as ``["quality_score desc", "length desc", "id asc"]``
that picks the one document each group keeps. Parsed here, and applied to an Arrow table for decisions made in one
task; :func:`curation.dedup.components.keep_order` applies it to a Spark DataFrame. No Spark here.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation.schema import ANNOTATIONS


def keep_items(keep: list[str]) -> list[tuple[str, bool]]:
    """(column, descending) of each item of a keep policy such as ``["quality_score desc", "length desc"]``."""
    items = []
    for item in keep:
        name, _, direction = item.strip().partition(" ")
        direction = direction.strip().lower() or "asc"
        if direction not in ("asc", "desc"):
            raise ValueError(f"keep order {item!r}: direction must be asc or desc")
        items.append((name, direction == "desc"))
    return items


def keep_rank(table: pa.Table, keep: list[str]) -> np.ndarray:
    """Each row's position in the keep order (0 = kept first): the order of
    :func:`curation.dedup.components.keep_order`, nulls last, ties broken by id. ``length`` is a column of
    ``table``; annotations it lacks are skipped."""
    sort_keys = []
    columns = {}
    items = keep_items(keep)
    for name, descending in items:
        if name in table.column_names:
            column = table.column(name)
            if pa.types.is_floating(column.type):  # NaN is unknown, like null (as in keep_order)
                column = pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
            columns[f"k{len(sort_keys)}"] = column
            sort_keys.append((f"k{len(sort_keys)}", "descending" if descending else "ascending", "at_end"))
        elif name not in ANNOTATIONS:
            raise ValueError(f"keep order {name!r}: no column {name!r}")
    if "id" not in [name for name, _ in items]:
        columns[f"k{len(sort_keys)}"] = table.column("id")
        sort_keys.append((f"k{len(sort_keys)}", "ascending", "at_end"))
    order = pc.sort_indices(pa.table(columns), sort_keys=sort_keys).to_numpy()
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    return rank
