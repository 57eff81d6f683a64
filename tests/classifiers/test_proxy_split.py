"""The quality-proxy experiment's data split (classifiers/proxy_split.py): no eval text reaches the classifier or
the candidate pool, the classifier never sees a pool text, and the split is a function of the seed."""
from classifiers import proxy_split
from tests.paths import shared_path


def split_texts(split) -> dict[str, set[str]]:
    return {"eval": {d.text for docs in split.eval.values() for d in docs},
            "classifier": {d.text for docs in split.classifier_positive.values() for d in docs}
            | {d.text for d in split.classifier_negative},
            "pool": {d.text for d in split.pool}}


def assert_no_leak(docs, split) -> None:
    texts = split_texts(split)
    assert not texts["eval"] & texts["classifier"]
    assert not texts["eval"] & texts["pool"]
    assert not texts["classifier"] & texts["pool"]
    assert {d.domain for d in split.pool} <= {proxy_split.WEB, proxy_split.FORUM}
    assert all(split.eval[domain] for domain in (*proxy_split.HIGH_QUALITY, proxy_split.WEB))
    # every document lands somewhere exactly once
    placed = [d.id for docs_ in (*split.eval.values(), *split.classifier_positive.values(), split.classifier_negative,
                                 split.pool) for d in docs_]
    assert sorted(placed) == sorted(d.id for domain_docs in docs.values() for d in domain_docs)


def test_duplicated_texts_cannot_cross_the_split(tmp_path):
    import json

    import zstandard

    # the same text in web twice and once in wiki: only its first occurrence (web) survives
    corpora = {"web": ["w0", "w1", "shared", "shared", "w4", "w5", "w6", "w7", "w8", "w9"], "forum": ["f0", "f1"],
               "wiki": ["k0", "k1", "shared", "k3"], "books": ["b0", "b1"], "papers": ["p0", "p1"],
               "docs": ["d0", "d1", "d2"]}
    for domain, texts in corpora.items():
        lines = "\n".join(json.dumps({"id": f"{domain}/{i}", "text": t}) for i, t in enumerate(texts))
        (tmp_path / f"{domain}.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(lines.encode()))
    docs = proxy_split.read_corpora(str(tmp_path))
    assert [d.text for d in docs["web"]].count("shared") == 1 and "shared" not in [d.text for d in docs["wiki"]]
    for seed in range(5):
        assert_no_leak(docs, proxy_split.split_documents(docs, seed, 0.2, 0.15, 0.4))


def test_shared_corpora_split_is_leak_free_and_seeded():
    docs = proxy_split.read_corpora(str(shared_path("corpora")))
    split = proxy_split.split_documents(docs, 0, 0.2, 0.15, 0.4)
    assert_no_leak(docs, split)
    again = proxy_split.split_documents(docs, 0, 0.2, 0.15, 0.4)
    assert split_texts(split) == split_texts(again)
    assert split_texts(proxy_split.split_documents(docs, 1, 0.2, 0.15, 0.4))["eval"] != split_texts(split)["eval"]
