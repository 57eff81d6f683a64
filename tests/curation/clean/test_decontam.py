"""Decontamination kernel: evaluation passages planted into real documents are all found; untouched real documents
of other corpora are (almost) never flagged; paragraph removal cuts only the planted paragraph."""
import json
import random

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from curation.clean.decontam import (build_index, decontam_batch, drop_paragraphs, match_text, ngram_hashes,
                                     read_texts, words)
from tests.paths import shared_path


def corpus(name: str) -> list[str]:
    raw = zstandard.ZstdDecompressor().decompressobj().decompress(shared_path("corpora", f"{name}.jsonl.zst")
                                                                   .read_bytes())
    return [json.loads(line)["text"] for line in raw.decode("utf-8").split("\n") if line.strip()]


def plant(doc: str, passage: str, rng: random.Random) -> str:
    paragraphs = doc.split("\n\n")
    at = rng.randrange(len(paragraphs) + 1)
    return "\n\n".join(paragraphs[:at] + [passage] + paragraphs[at:])


def test_planted_passages_are_all_flagged_and_untouched_documents_almost_never():
    rng = random.Random(0)
    forum = corpus("forum")
    evaluation, rest = forum[:300], forum[300:]
    index, _, info = build_index(evaluation, 13, 8)
    assert info["texts"] == 300 and info["ngrams"] > 10_000
    indexes = {"forum_eval": index}
    # real documents of other corpora (and the rest of the forum corpus), untouched
    untouched = corpus("web") + corpus("wiki") + corpus("papers") + corpus("code")[:300] + rest[:300]
    planted = []
    for doc in untouched[:150]:
        source = [w for w in rng.choice(evaluation).split() if w]
        while len(source) < 50:
            source = [w for w in rng.choice(evaluation).split() if w]
        size = rng.randint(50, min(100, len(source)))
        start = rng.randrange(len(source) - size + 1)
        planted.append(plant(doc, " ".join(source[start:start + size]), rng))
    assert all(match_text(doc, indexes, 13)[0].get("forum_eval", 0) >= 1 for doc in planted)
    flagged = [doc for doc in untouched if match_text(doc, indexes, 13)[0]]
    assert len(untouched) > 1500
    assert len(flagged) <= 0.005 * len(untouched), [d[:200] for d in flagged]


def test_paragraph_removal_keeps_the_rest():
    evaluation = "the mitochondria is the powerhouse of the cell and every student of biology learns this early on"
    index, _, _ = build_index([evaluation], 13, 8)
    doc = ("Intro line one.\n\nAs everyone knows, THE mitochondria is the powerhouse of the cell, and every student "
           "of biology learns this early on.\n\nThe end.")
    assert drop_paragraphs(doc, {"bio": index}, 13) == "Intro line one.\n\nThe end."
    matches, covered = match_text(doc, {"bio": index}, 13)
    assert matches == {"bio": 5} and covered.sum() == 17


def test_short_evaluation_texts_and_hashing():
    index, short, info = build_index(["What is the capital of France today?", "Too short", ""], 13, 5)
    assert short == [7] and info["short_texts"] == 1 and info["ignored_texts"] == 2
    assert match_text("Q: what is the capital of France today? A: Paris", {"q": index}, 13, short)[0] == {"q": 1}
    assert words("Ünïcode—words, l'été_2") == ["ünïcode", "words", "l", "été", "2"]
    a = ngram_hashes(["a", "b", "c", "d"], 2)
    assert len(a) == 3 and a[0] != ngram_hashes(["b", "a"], 2)[0]  # order matters


def test_batch_annotation_and_readers(tmp_path):
    texts = ["one two three four five six seven eight nine ten eleven twelve thirteen fourteen"]
    pq.write_table(pa.table({"q": texts}), tmp_path / "e.parquet")
    (tmp_path / "e.jsonl").write_text(json.dumps({"q": texts[0]}) + "\n")
    assert list(read_texts(str(tmp_path / "e.parquet"), "q")) == texts
    assert list(read_texts(str(tmp_path / "e.jsonl"), "q")) == texts
    index, short, _ = build_index(texts, 13, 8)
    batch = pa.RecordBatch.from_pydict({"id": ["x", "y"], "text": ["zero " + texts[0], "unrelated"]})
    out = decontam_batch(batch, {"b": index, "c": np.empty(0, np.uint64)}, 13, 2, tuple(short), False)
    assert out.column("contam_matches").to_pylist() == [[("b", 2)], []]
    assert out.column("contaminated").to_pylist() == [True, False]
    strict = decontam_batch(batch, {"b": index}, 13, 3, tuple(short), False)
    assert strict.column("contaminated").to_pylist() == [False, False]
