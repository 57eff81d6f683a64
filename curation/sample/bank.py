"""The prose bank of the sample corpus, read from the package data in ``prose/``, written for this project.

Paragraphs are grouped by topic; sentences within a paragraph are written to stand fairly well on their own, because
the composer sometimes drops one to make documents differ. German (``de_*``) and French (``fr_*``) topics keep to
characters that windows-1252 can encode, and German to ISO-8859-1, since the sample serves them in those charsets.
Lists in the JSON files are read as tuples.
"""
from __future__ import annotations

import json
from pathlib import Path

PROSE = Path(__file__).with_name("prose")


def _tuples(value):
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def _read(name: str) -> dict:
    return _tuples(json.loads((PROSE / name).read_text(encoding="utf-8")))


def _code_files() -> tuple[tuple[str, str, str], ...]:
    entries = json.loads((PROSE / "code.json").read_text(encoding="utf-8"))["code_files"]
    return tuple((e["path"], e["language"], (PROSE / e["file"]).read_text(encoding="utf-8")) for e in entries)


_topics, _books, _forum = _read("topics.json"), _read("books.json"), _read("forum.json")
_filler, _reports, _sites = _read("filler.json"), _read("reports.json"), _read("sites.json")

# Topic -> paragraphs (each 60-150 words of genuine prose), and topic -> page or article titles.
PARAGRAPHS: dict[str, tuple[str, ...]] = _topics["paragraphs"]
TITLES: dict[str, tuple[str, ...]] = _topics["titles"]
# German and French topics (served as windows-1252 / ISO-8859-1 web pages, so no characters outside those sets).
FOREIGN_PARAGRAPHS: dict[str, tuple[str, ...]] = _topics["foreign_paragraphs"]
FOREIGN_TITLES: dict[str, tuple[str, ...]] = _topics["foreign_titles"]
# Book-style narrative prose: one story, told in paragraphs that read well in several orders.
NARRATIVE: tuple[str, ...] = _books["narrative"]
BOOK_TITLES: tuple[str, ...] = _books["book_titles"]
# Forum threads: (topic, index of the bank paragraph that answers it, title, opening post). Replies reuse sentences
# from the topic's paragraphs, framed by the openers and closers.
FORUM_QUESTIONS: tuple[tuple[str, int, str, str], ...] = _forum["forum_questions"]
FORUM_USERS: tuple[str, ...] = _forum["forum_users"]
REPLY_OPENERS: tuple[str, ...] = _forum["reply_openers"]
TANGENT_OPENERS: tuple[str, ...] = _forum["tangent_openers"]
REPLY_CLOSERS: tuple[str, ...] = _forum["reply_closers"]
THANKS_REPLIES: tuple[str, ...] = _forum["thanks_replies"]
# Low-quality material for the heuristic filters to reject.
SPAM_KEYWORDS: tuple[str, ...] = _filler["spam_keywords"]
LOREM: str = _filler["lorem"]
SHORT_TEXTS: tuple[str, ...] = _filler["short_texts"]
BOILERPLATE_LINES: tuple[str, ...] = _filler["boilerplate_lines"]
# Source files for the `code` domain: (path, language, source).
CODE_FILES: tuple[tuple[str, str, str], ...] = _code_files()
# PDF reports: (topic, title, organisation), written by AUTHORS. Section headings come from TITLES[topic].
AUTHORS: tuple[str, ...] = _reports["authors"]
REPORTS: tuple[tuple[str, str, str], ...] = _reports["reports"]
# The typed letter reproduced as a scanned (image-only) appendix page; OCR must recover it.
SCANNED_LETTER: tuple[str, ...] = _reports["scanned_letter"]
# Per-language page chrome: navigation, cookie banner, comment and sidebar headings, footer.
SITE_CHROME: dict[str, dict[str, object]] = _sites["site_chrome"]
