"""MinHash building blocks without Spark: normalisation, shingles, signatures, band choice, verification."""
import random
import re
import unicodedata

import numpy as np
import pyarrow as pa
import pytest
from datasketch.lsh import _optimal_param

from curation.dedup_eval import jaccard, word_shingles
from curation.minhash import (MinHashParams, _mix64, band_keys, bucket_group, bucket_rows, fold_words, optimal_bands,
                              named_pairs_in_one_task, packed_bucket_rows, pair_jaccards, pairs_in_buckets,
                              permutations, shingle_hashes, unpack_bucket_rows)

WORDS = "the quick brown fox jumps over lazy dog while seven wizards quietly hex a jovial zebra".split()


def random_text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def test_normalisation_folds_case_punctuation_whitespace_and_compatibility_forms():
    texts = pa.array(["  Hello,  WORLD!!\n\tfoo_bar ", "Ｆｕｌｌ－width ﬁ ligature", "naïve Ünïcode—dash", None, "..."])
    assert fold_words(texts).to_pylist() == ["hello world foo bar", "full width fi ligature",
                                             "naïve ünïcode dash", "", ""]
    assert fold_words(pa.array(["ﬁne"]), nfkc=False).to_pylist() == ["ﬁne"]


def test_normalisation_matches_python_regex_definition():
    rng = random.Random(1)
    alphabet = "aZé ß,.;:!?_-\t\n0123456789日本語 \u00a0\u2028Ωω'\"()[]"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80))) for _ in range(300)]
    expected = [" ".join(re.sub(r"[\W_]+", " ", unicodedata.normalize("NFKC", t).lower()).split()) for t in texts]
    assert fold_words(pa.array(texts)).to_pylist() == expected


def test_shingle_sets_and_exact_jaccard_match_string_sets():
    rng = random.Random(2)
    a = [random_text(rng, rng.randint(0, 60)) for _ in range(200)]
    b = [x if i % 3 else random_text(rng, 30) + " " + x for i, x in enumerate(a)]
    got = pair_jaccards(pa.array(a), pa.array(b), 5)
    want = [jaccard(word_shingles(x), word_shingles(y)) for x, y in zip(a, b)]
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert len(shingle_hashes("one two three")) == 1  # fewer words than n: one shingle
    assert len(shingle_hashes("a b c d e f g")) == 3
    assert len(shingle_hashes(" ,; ")) == 0


def reference_band_keys(text: str, ngram: int, num_perm: int, bands: int, rows: int, seed: int) -> list[int]:
    """Straightforward MinHash: min over shingles of (a*h + b) mod 2**64, then a hash per band."""
    a, b = permutations(num_perm, seed)
    hashes = [int(h) for h in shingle_hashes(text, ngram)]
    mins = [min((int(a[p]) * h + int(b[p])) % 2**64 for h in hashes) for p in range(bands * rows)]
    keys = []
    for band in range(bands):
        key = np.uint64(band + 1)
        for r in range(rows):
            key = _mix64(key ^ np.uint64(mins[band * rows + r]))
        keys.append(int(key))
    return keys


def test_signatures_equal_a_straightforward_reference():
    rng = random.Random(3)
    texts = [random_text(rng, rng.randint(1, 40)) for _ in range(20)]
    keys, counts = band_keys(pa.array(texts), 5, 24, 4, 6, seed=7)
    for text, row, count in zip(texts, keys, counts):
        assert count > 0
        assert [int(k) for k in row] == reference_band_keys(text, 5, 24, 4, 6, 7)


def test_signatures_depend_on_seed_and_empty_documents_have_none():
    texts = pa.array(["alpha beta gamma delta epsilon zeta", "", None])
    k1, counts = band_keys(texts, 5, 16, 4, 4, seed=1)
    k2, _ = band_keys(texts, 5, 16, 4, 4, seed=2)
    assert list(counts) == [2, 0, 0]
    assert (k1[0] != k2[0]).all()


def test_band_collision_rate_follows_jaccard():
    rng = random.Random(4)
    base = [random_text(rng, 200) for _ in range(150)]
    near = [" ".join(t.split()[:190]) + " " + random_text(rng, 10) for t in base]  # J around 0.9
    far = [random_text(rng, 200) for _ in range(150)]
    kb, _ = band_keys(pa.array(base), 5, 112, 18, 6, 0)
    kn, _ = band_keys(pa.array(near), 5, 112, 18, 6, 0)
    kf, _ = band_keys(pa.array(far), 5, 112, 18, 6, 0)
    assert (kb == kn).any(axis=1).mean() > 0.95
    assert (kb == kf).any(axis=1).mean() < 0.05


@pytest.mark.parametrize("threshold,num_perm,fp", [(0.8, 112, 0.5), (0.8, 112, 0.005), (0.5, 128, 0.5),
                                                   (0.9, 64, 0.3)])
def test_optimal_bands_match_datasketch(threshold, num_perm, fp):
    assert optimal_bands(threshold, num_perm, fp, 1 - fp) == _optimal_param(threshold, num_perm, fp, 1 - fp)


def test_band_layout_defaults_explicit_and_validation():
    assert MinHashParams().band_layout() == (18, 6)  # verification: recall-weighted
    assert MinHashParams(verify=False).band_layout() == (9, 12)  # datasketch's default weighting
    assert MinHashParams(bands=20, rows=5).band_layout() == (20, 5)
    with pytest.raises(ValueError):
        MinHashParams(bands=20)
    with pytest.raises(ValueError):
        MinHashParams(bands=30, rows=5)


def test_bucket_pairs_match_a_per_bucket_reference():
    """The vectorised pair generation equals the obvious loop: all pairs of a bucket's distinct members up to the
    cap, beyond it every member linked to the smallest; nothing across buckets."""
    import itertools

    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(0, 200))
        keys = (rng.integers(-6, 6, n) * (1 << 40)).astype(np.int64)
        handles = rng.integers(-20, 20, n).astype(np.int64)
        cap = int(rng.integers(2, 8))
        expected = []
        for k in set(keys.tolist()):
            members = sorted(set(handles[keys == k].tolist()))
            if len(members) <= cap:
                expected += list(itertools.combinations(members, 2))
            else:
                expected += [(members[0], m) for m in members[1:]]
        a, b = pairs_in_buckets(keys, handles, cap)
        assert sorted(zip(a.tolist(), b.tolist())) == sorted(expected)


def test_packed_bucket_rows_round_trip_and_keep_each_key_in_one_group():
    rng = random.Random(3)
    texts = [random_text(rng, 40) for _ in range(30)] + ["", "one two"]
    batch = pa.RecordBatch.from_arrays([pa.array(np.arange(len(texts), dtype=np.int64) * 7919), pa.array(texts)],
                                       names=["h", "text"])
    keys, handles = bucket_rows(batch, 5, 112, 18, 6, 0, True)
    assert len(keys) == 18 * 31  # the empty document has no bands
    packed = packed_bucket_rows(batch, 5, 112, 18, 6, 0, True, groups=8)
    groups = packed.column("g").to_pylist()
    assert len(groups) == len(set(groups)) and set(groups) <= set(range(8))
    for g, blob in zip(groups, packed.column("rows").to_pylist()):  # every row sits in its key's group
        part = np.frombuffer(blob, dtype="<i8").reshape(-1, 2)
        assert (bucket_group(part[:, 0].astype(np.int64), 8) == g).all()
    k2, h2 = unpack_bucket_rows([packed])
    assert sorted(zip(k2.tolist(), h2.tolist())) == sorted(zip(keys.tolist(), handles.tolist()))


def test_pairs_named_and_verified_in_one_task_including_handle_collisions():
    rng = random.Random(5)
    base = random_text(rng, 60)
    near = base + " zebra"  # Jaccard 55/56 with base
    other = random_text(rng, 60)
    # handles: 10 -> x, 20 -> y and z (a 64-bit collision), 30 -> w
    batch = pa.RecordBatch.from_pydict({"h": pa.array([10, 20, 20, 30], pa.int64()), "id": ["x", "y", "z", "w"],
                                        "text": [base, near, other, base]})
    ha, hb = np.array([10, 20], np.int64), np.array([20, 30], np.int64)

    def run(verify):
        out = pa.Table.from_batches(list(named_pairs_in_one_task(iter([batch]), ha, hb, verify, 5, True, 0.8)))
        return sorted(zip(out.column("a").to_pylist(), out.column("b").to_pylist()))

    # unverified: every id behind each handle pairs; ids ordered within a pair
    assert run(False) == [("w", "y"), ("w", "z"), ("x", "y"), ("x", "z")]
    # verified: only the true near-duplicates (y ~ x, y ~ w); z shares y's handle but not its text
    assert run(True) == [("w", "y"), ("x", "y")]
