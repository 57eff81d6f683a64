"""MinHash building blocks without Spark: normalisation, shingles, signatures, band choice, verification."""
import random
import re
import unicodedata

import numpy as np
import pyarrow as pa
import pytest
from datasketch.lsh import _optimal_param

from curation.dedup.eval import jaccard, word_shingles
from curation.dedup.keep_policy import keep_rank
from curation.dedup.minhash.decide import DECISION_SCHEMA, decide, decide_in_one_task, resolve_handles, verified
from curation.dedup.minhash.kernels import _mix64, band_keys, fold_words, pair_jaccards, permutations, shingle_hashes
from curation.dedup.minhash.lsh import (bucket_group, bucket_pairs, bucket_rows, optimal_bands, packed_bucket_rows,
                                        pairs_in_buckets, unpack_bucket_rows)
from curation.dedup.minhash.stage import MinHashParams

WORDS = "the quick brown fox jumps over lazy dog while seven wizards quietly hex a jovial zebra".split()


def random_text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def test_normalisation_folds_case_punctuation_whitespace_and_compatibility_forms():
    texts = pa.array(["  Hello,  WORLD!!\n\tfoo_bar ", "Ｆｕｌｌ－width ﬁ ligature", "naïve Ünïcode—dash", None, "..."])
    assert fold_words(texts).to_pylist() == ["hello world foo bar", "full width fi ligature",
                                             "naïve ünïcode dash", "", ""]
    assert fold_words(pa.array(["ﬁne"]), nfkc=False).to_pylist() == ["ﬁne"]


def test_lowercasing_in_the_kernels_equals_arrows_utf8_lower():
    import pyarrow.compute as pc

    texts = ["ȺBC İSTANBUL ΣΑΣ ẞtraße", "ǅemal ᾼ Ω Å K", "DŽ ǈ ǋ Ⅷ ① ﬃ", "ΑΣ.ΣΑ Ⱥ_Ⱦ"]
    lowered = pc.utf8_lower(pc.utf8_normalize(pa.array(texts), "NFKC")).to_pylist()
    expected = [" ".join(re.sub(r"[\W_]+", " ", t).split()) for t in lowered]
    assert fold_words(pa.array(texts)).to_pylist() == expected
    assert fold_words(pa.array(["Ⱥ"])).to_pylist() == ["ⱥ"]  # 2 UTF-8 bytes become 3


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
        keys.append(int(key) & ((1 << 63) - 1))  # band keys keep the top bit clear (exact keys set it)
    return keys


def test_signatures_equal_a_straightforward_reference():
    rng = random.Random(3)
    texts = [random_text(rng, rng.randint(1, 40)) for _ in range(20)]
    keys, counts, _ = band_keys(pa.array(texts), 5, 24, 4, 6, seed=7)
    for text, row, count in zip(texts, keys, counts):
        assert count > 0
        assert [int(k) for k in row] == reference_band_keys(text, 5, 24, 4, 6, 7)


def test_signatures_depend_on_seed_and_empty_documents_have_none():
    texts = pa.array(["alpha beta gamma delta epsilon zeta", "", None])
    k1, counts, _ = band_keys(texts, 5, 16, 4, 4, seed=1)
    k2, _, _ = band_keys(texts, 5, 16, 4, 4, seed=2)
    assert list(counts) == [2, 0, 0]
    assert (k1[0] != k2[0]).all()


def test_band_collision_rate_follows_jaccard():
    rng = random.Random(4)
    base = [random_text(rng, 200) for _ in range(150)]
    near = [" ".join(t.split()[:190]) + " " + random_text(rng, 10) for t in base]  # J around 0.9
    far = [random_text(rng, 200) for _ in range(150)]
    kb, _, _ = band_keys(pa.array(base), 5, 112, 18, 6, 0)
    kn, _, _ = band_keys(pa.array(near), 5, 112, 18, 6, 0)
    kf, _, _ = band_keys(pa.array(far), 5, 112, 18, 6, 0)
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


def test_exact_keys_equal_for_equal_normalised_text_and_packed_with_the_bands():
    texts = pa.array(["One, two three!", "one two   THREE", "one two three four", "", None, " ;; "])
    _, counts, exact = band_keys(texts, 5, 16, 4, 4, seed=0)
    assert (exact >> np.uint64(63) == 1).all()  # exact keys set the top bit, band keys never do
    assert exact[0] == exact[1] and exact[0] != exact[2]
    assert exact[3] == exact[4] == exact[5] and exact[3] != exact[0]  # every empty text folds to the same ""
    batch = pa.RecordBatch.from_arrays([pa.array(np.arange(6, dtype=np.int64)), texts], names=["h", "text"])
    keys, handles = bucket_rows(batch, 5, 16, 4, 4, 0, True, exact=True)
    assert (keys < 0).sum() == 6 and (keys >= 0).sum() == 4 * 3  # three documents with shingles
    pairs = pa.Table.from_batches(list(bucket_pairs([packed_bucket_rows(batch, 5, 16, 4, 4, 0, True, 4, True)], 200)))
    found = sorted(zip(*(pairs.column(c).to_pylist() for c in ("ha", "hb", "exact"))))
    assert (0, 1, True) in found and (0, 1, False) in found  # the same documents: both kinds of bucket
    assert {(a, b) for a, b, e in found if e} == {(0, 1), (3, 4), (3, 5), (4, 5)}


def test_one_task_verifies_pairs_and_decides_exact_groups_before_near_clusters():
    rng = random.Random(5)
    base = random_text(rng, 60)
    near = base + " zebra"  # Jaccard 55/56 with base
    other = random_text(rng, 60)
    # handles: 10 -> x, 20 -> y and z (a 64-bit collision), 30 -> w; w is x's text shouted (equal once folded)
    batch = pa.RecordBatch.from_pydict({"h": pa.array([10, 20, 20, 30], pa.int64()), "id": ["x", "y", "z", "w"],
                                        "length": pa.array([len(t) for t in (base, near, other, base)], pa.int32()),
                                        "text": [base, near, other, base.upper()]})
    ha, hb, ex = np.array([10, 20, 10], np.int64), np.array([20, 30, 30], np.int64), np.array([False, False, True])

    def run(verify):
        table = batch if verify else batch.drop_columns(["text"])
        out = pa.Table.from_batches(list(decide_in_one_task(iter([table]), ha, hb, ex, verify, 5, True, 0.8,
                                                            ["length desc", "id asc"])), schema=DECISION_SCHEMA)
        return {r.pop("id"): r for r in out.to_pylist()}

    got = run(True)  # z shares y's handle but not its text: no pair survives for it
    assert got == {"x": {"exact_of": "w", "cluster": None, "cluster_size": None, "cluster_dup_of": None},
                   "w": {"exact_of": None, "cluster": "y", "cluster_size": 2, "cluster_dup_of": "y"},
                   "y": {"exact_of": None, "cluster": "y", "cluster_size": 2, "cluster_dup_of": None}}
    loose = run(False)  # unverified: every id behind each handle pairs
    assert loose["x"]["exact_of"] == "w" and {loose[i]["cluster_size"] for i in "wyz"} == {3}
    rows_a, rows_b, kinds = resolve_handles(np.array([10, 20, 20, 30]), ha, hb, ex)
    assert sorted(zip(rows_a.tolist(), rows_b.tolist(), kinds.tolist())) == [
        (0, 1, False), (0, 2, False), (0, 3, True), (1, 3, False), (2, 3, False)]
    ok, exact = verified(batch.column("text"), rows_a, rows_b, kinds, 5, True, 0.8)
    assert exact.sum() == 1 and ok.sum() == 3


def test_decisions_follow_the_keep_order_with_nulls_last():
    table = pa.table({"id": ["a", "b", "c", "d", "e", "f"], "quality_score": [0.5, None, 0.9, 0.1, None, 0.2],
                      "length": [10, 50, 5, 7, 7, 100]})
    keep = ["quality_score desc", "length desc", "id asc"]
    assert keep_rank(table, keep).tolist() == [1, 4, 0, 3, 5, 2]
    # exact group {a, b, d}: a kept (best score); near pairs b~c (b counts as a) and e~f
    out = decide(table, np.array([0, 0, 1, 4]), np.array([1, 3, 2, 5]), np.array([True, True, False, False]), keep)
    got = {r.pop("id"): r for r in out.to_pylist()}
    assert got["b"]["exact_of"] == "a" and got["d"]["exact_of"] == "a" and got["b"]["cluster"] is None
    assert got["a"] == {"exact_of": None, "cluster": "c", "cluster_size": 2, "cluster_dup_of": "c"}
    assert got["c"]["cluster_dup_of"] is None and got["f"]["cluster"] == "f" and got["e"]["cluster_dup_of"] == "f"
