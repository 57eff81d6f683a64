"""Planted near-duplicates: copies of real documents edited until their word-5-gram Jaccard with the original
reaches a chosen level, for evaluating deduplication.

Edits are word deletions, insertions of words taken from another document, swaps of adjacent words and an
appended boilerplate block. Each copy draws its random choices once, so the edits grow monotonically with one
strength in [0, 1]; a bisection on the strength finds the copy whose exact Jaccard is closest to the target.
"""
from __future__ import annotations

import random

from curation.dedup.eval import jaccard, word_shingles

BOILERPLATE = (
    "Subscribe to our newsletter for the latest updates. This website uses cookies to improve your experience. "
    "Share this article on social media. All rights reserved. Privacy Policy | Terms of Service | Contact Us"
).split()


class _Editor:
    """The random draws of one copy; :meth:`edit` applies them at a given strength."""

    def __init__(self, words: list[str], donor_words: list[str], rng: random.Random):
        n = len(words)
        self.words = words
        self.u_delete = [rng.random() for _ in range(n)]
        self.u_insert = [rng.random() for _ in range(n)]
        self.u_swap = [rng.random() for _ in range(n)]
        self.inserts = [[rng.choice(donor_words) for _ in range(rng.randint(1, 3))] for _ in range(n)]
        self.boilerplate = rng.random() < 0.35

    def edit(self, strength: float) -> str:
        p = 0.5 * strength
        words = list(self.words)
        i = 0
        while i < len(words) - 1:
            if self.u_swap[i] < p / 2:
                words[i], words[i + 1] = words[i + 1], words[i]
                i += 2
            else:
                i += 1
        out: list[str] = []
        for i, w in enumerate(words):
            if self.u_delete[i] >= p:
                out.append(w)
            if self.u_insert[i] < p:
                out.extend(self.inserts[i])
        if self.boilerplate:
            out.extend(BOILERPLATE[: int(len(words) * 0.3 * strength)])
        return " ".join(out)


def near_copy(text: str, target: float, donor: str, rng: random.Random, steps: int = 20) -> tuple[str, float]:
    """(copy, exact Jaccard with ``text``) with the Jaccard as close to ``target`` as the edits allow."""
    if target >= 1.0:
        return text, 1.0
    original = word_shingles(text)
    editor = _Editor(text.split(), donor.split() or ["lorem"], rng)
    lo, hi = 0.0, 1.0
    best = (text, 1.0)
    for _ in range(steps):
        mid = (lo + hi) / 2
        copy = editor.edit(mid)
        j = jaccard(original, word_shingles(copy))
        if abs(j - target) < abs(best[1] - target):
            best = (copy, j)
        if j > target:
            lo = mid
        else:
            hi = mid
    return best


def plant(docs: list[dict], levels: list[float], fraction: float, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """Add a near-copy of a ``fraction`` of ``docs`` (dicts with id and text), cycling through the Jaccard
    ``levels``. Returns (all documents, truth rows {a, b, target, jaccard}); copies get ids ``<id>~copy``."""
    rng = random.Random(seed)
    chosen = sorted(rng.sample(range(len(docs)), round(fraction * len(docs))))
    out = list(docs)
    truth = []
    for k, i in enumerate(chosen):
        target = levels[k % len(levels)]
        donor = docs[(i + 1 + rng.randrange(max(1, len(docs) - 1))) % len(docs)]["text"]
        text, j = near_copy(docs[i]["text"], target, donor, rng)
        copy_id = f"{docs[i]['id']}~copy"
        out.append({**docs[i], "id": copy_id, "text": text})
        truth.append({"a": docs[i]["id"], "b": copy_id, "target": target, "jaccard": round(j, 4)})
    return out, truth
