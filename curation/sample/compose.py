"""Composing sample documents: paragraphs drawn from the prose bank so that no two composed documents are
near-duplicates by accident (below ``MAX_ORGANIC_JACCARD`` word-5-gram Jaccard), planted near-copies, and the record
of what was planted (:class:`Planted`) for the pipeline to find."""
from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

MAX_ORGANIC_JACCARD = 0.5
COMPOSE_ATTEMPTS = 60

_WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÄÖÜÀ-Ý])")


def word_shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    """Lower-cased word n-grams: the unit in which the corpus guarantees (and tests) document similarity."""
    words = _WORD.findall(text.lower())
    return {tuple(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def split_sentences(paragraph: str) -> list[str]:
    return _SENTENCE_END.split(paragraph)


class Composer:
    """Draws paragraphs for documents so that no two composed documents are near-duplicates by accident."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self._seen: dict[str, list[set]] = {}

    def accept(self, topic: str, text: str) -> bool:
        """Register ``text`` unless it is within MAX_ORGANIC_JACCARD of an earlier document on ``topic``."""
        shingles = word_shingles(text)
        seen = self._seen.setdefault(topic, [])
        if any(jaccard(shingles, other) >= MAX_ORGANIC_JACCARD for other in seen):
            return False
        seen.append(shingles)
        return True

    def compose(self, topic: str, pool: tuple[str, ...], lo: int, hi: int) -> tuple[int, list[str]] | None:
        """``lo``..``hi`` paragraphs from ``pool``, some with a sentence dropped, and the pool index of the first
        (titles follow the lead paragraph); None when every draw collides with an earlier document."""
        for _ in range(COMPOSE_ATTEMPTS):
            picks = self.rng.sample(range(len(pool)), self.rng.randint(lo, min(hi, len(pool))))
            paragraphs = [self._trim(pool[i]) for i in picks]
            if self.accept(topic, " ".join(paragraphs)):
                return picks[0], paragraphs
        return None

    def _trim(self, paragraph: str) -> str:
        sentences = split_sentences(paragraph)
        if len(sentences) >= 4 and self.rng.random() < 0.5:
            del sentences[self.rng.randrange(1, len(sentences))]
        return " ".join(sentences)


def near_duplicate(text: str, rng: random.Random) -> str:
    """A lightly edited copy (two words swapped for synonyms or dropped, one sentence appended), Jaccard >= 0.8."""
    edits = {"very": "really", "often": "frequently", "small": "little", "large": "big", "quickly": "fast",
             "usually": "generally", "because": "since", "colour": "color", "grey": "gray"}
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if w.lower() in edits] or list(range(1, len(words), 7))
    for i in sorted(rng.sample(candidates, min(2, len(candidates))), reverse=True):
        if words[i].lower() in edits:
            words[i] = edits[words[i].lower()]
        else:
            del words[i]
    return " ".join(words) + " This copy was shared with permission."


@dataclass
class Planted:
    """Ground truth for what the pipeline should find: deliberate duplicates, junk and broken inputs."""

    exact_duplicates: list[list[str]] = field(default_factory=list)  # [original id, copy id]
    near_duplicates: list[list[str]] = field(default_factory=list)
    low_quality: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower().encode("ascii", "ignore").decode()).strip("-")
