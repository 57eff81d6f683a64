"""The JSONL part of the sample: wiki articles, book chapters, forum threads and code files, with planted exact and
near copies, low-quality documents and broken lines."""
from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

from curation.sample import bank
from curation.sample.compose import COMPOSE_ATTEMPTS, Composer, Planted, near_duplicate, slug, split_sentences

WIKI_ARTICLES_PER_TOPIC = 6
BOOK_CHAPTERS = 10


class _JsonlFile:
    """Collects the lines of one gzipped JSONL file, including deliberately broken ones."""

    def __init__(self, source: str):
        self.source = source
        self.lines: list[bytes] = []
        self.docs: list[dict] = []
        self.error_lines = 0

    def add(self, doc_id: str, text: str, url: str | None = None) -> dict:
        doc = {"id": doc_id, "text": text, "source": self.source, "url": url}
        self.docs.append(doc)
        self.lines.append(json.dumps(doc, ensure_ascii=False).encode())
        return doc

    def add_raw(self, line: bytes) -> None:
        self.lines.append(line)
        self.error_lines += 1

    def write(self, path: Path) -> dict:
        path.write_bytes(gzip.compress(b"".join(line + b"\n" for line in self.lines), mtime=0))
        return {"lines": len(self.lines), "documents": len(self.docs), "error_lines": self.error_lines}


def _plant_copies(jsonl: _JsonlFile, rng: random.Random, planted: Planted, exact: int, near: int) -> None:
    """Append exact and lightly edited copies of randomly chosen documents of the file."""
    originals = rng.sample(jsonl.docs, exact + near)
    for n, doc in enumerate(originals):
        copy_id = f"{doc['id']}-copy"
        if n < exact:
            jsonl.add(copy_id, doc["text"], doc["url"])
            planted.exact_duplicates.append([doc["id"], copy_id])
        else:
            jsonl.add(copy_id, near_duplicate(doc["text"], rng), doc["url"])
            planted.near_duplicates.append([doc["id"], copy_id])


def wiki(rng: random.Random, composer: Composer, planted: Planted) -> _JsonlFile:
    wiki = _JsonlFile("wiki")
    for topic, pool in bank.PARAGRAPHS.items():
        for _ in range(WIKI_ARTICLES_PER_TOPIC):
            drawn = composer.compose(topic, pool, 3, 5)
            if drawn is None:
                continue
            doc_id = f"wiki-{len(wiki.docs):04d}"
            title = bank.TITLES[topic][drawn[0]]
            url = f"https://wiki.example.org/wiki/{slug(title)}-{doc_id}"
            wiki.add(doc_id, "\n\n".join([title, *drawn[1]]), url)
    _plant_copies(wiki, rng, planted, exact=3, near=4)
    junk = [("Lorem ipsum", "\n\n".join([bank.LOREM * 6] * 4)),
            ("Stub", "This article is a stub. You can help by expanding it."),
            ("Navigation", "\n".join(bank.BOILERPLATE_LINES)),
            ("Repeated", "\n".join(["Click here to read more."] * 40))]
    for title, text in junk:
        doc = wiki.add(f"wiki-{len(wiki.docs):04d}", text, f"https://wiki.example.org/wiki/{slug(title)}")
        planted.low_quality.append(doc["id"])
    # A line from a producer that wrote Latin-1: the é in "café" is the single byte 0xE9.
    bad = dict(id="wiki-bad-utf8", text="The café on the corner opened in 1911.", source="wiki", url=None)
    wiki.add_raw(json.dumps(bad, ensure_ascii=False).encode().replace("café".encode(), "café".encode("latin-1")))
    planted.broken.append("text/wiki.jsonl.gz: line with invalid UTF-8")
    return wiki


def books(rng: random.Random, composer: Composer, planted: Planted) -> _JsonlFile:
    books = _JsonlFile("books")
    for n in range(BOOK_CHAPTERS):
        drawn = composer.compose("narrative", bank.NARRATIVE, 3, 4)
        if drawn is not None:
            title = bank.BOOK_TITLES[n % len(bank.BOOK_TITLES)]
            books.add(f"book-{n:04d}", "\n\n".join([title, "Chapter One", *drawn[1]]))
    _plant_copies(books, rng, planted, exact=1, near=1)
    return books


def _forum_thread(rng: random.Random, topic: str, answer: int, title: str, question: str) -> str:
    asker, *repliers = rng.sample(bank.FORUM_USERS, 4)
    posts = [f"{title}\n\n{asker} wrote:\n{question}"]
    tangents = rng.sample([i for i in range(len(bank.PARAGRAPHS[topic])) if i != answer], 2)
    # The first reply answers the question; later ones drift to neighbouring advice, as threads do.
    for user, index, openers in zip(repliers[:rng.randint(2, 3)], [answer, *tangents],
                                    [bank.REPLY_OPENERS, bank.TANGENT_OPENERS, bank.TANGENT_OPENERS]):
        advice = " ".join(split_sentences(bank.PARAGRAPHS[topic][index])[:rng.randint(2, 3)])
        posts.append(f"{user} replied:\n{rng.choice(openers)} {advice} {rng.choice(bank.REPLY_CLOSERS)}")
    if rng.random() < 0.5:
        posts.append(f"{asker} replied:\n{rng.choice(bank.THANKS_REPLIES)}")
    return "\n\n".join(posts)


def forum(rng: random.Random, composer: Composer, planted: Planted) -> _JsonlFile:
    forum = _JsonlFile("forum")
    for n, (topic, answer, title, question) in enumerate(bank.FORUM_QUESTIONS):
        for _ in range(COMPOSE_ATTEMPTS):
            text = _forum_thread(rng, topic, answer, title, question)
            if composer.accept(topic, text):
                forum.add(f"forum-{n:04d}", text, f"https://forum.example.net/t/{slug(title)}/{1000 + n}")
                break
    _plant_copies(forum, rng, planted, exact=1, near=1)
    for n, text in enumerate([" ".join(rng.sample(bank.SPAM_KEYWORDS, 15)) for _ in range(2)] + [
            bank.SHORT_TEXTS[0], bank.SHORT_TEXTS[1]]):
        doc = forum.add(f"forum-junk-{n}", text, f"https://forum.example.net/t/post/{9000 + n}")
        planted.low_quality.append(doc["id"])
    # A writer killed mid-line leaves a truncated JSON object behind.
    cut = json.dumps({"id": "forum-truncated", "text": bank.THANKS_REPLIES[0], "source": "forum"}).encode()
    forum.add_raw(cut[:len(cut) // 2])
    planted.broken.append("text/forum.jsonl.gz: truncated line (invalid JSON)")
    return forum


def code(rng: random.Random, planted: Planted) -> _JsonlFile:
    code = _JsonlFile("code")
    for n, (path, _language, source) in enumerate(bank.CODE_FILES):
        code.add(f"code-{n:04d}", source, f"https://git.example.org/sample/{path}")
    # A vendored copy of a file is the commonest exact duplicate in code corpora.
    original = rng.choice(code.docs)
    code.add("code-vendored", original["text"], original["url"].replace("/sample/", "/vendor/sample/"))
    planted.exact_duplicates.append([original["id"], "code-vendored"])
    return code
