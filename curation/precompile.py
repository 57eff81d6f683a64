"""Compile the numba kernels once into numba's on-disk cache (``make setup`` runs this).

Without it, the first run after an install compiles them in every Python worker that needs them (~3.6 CPU-s per
process on the 2-core reference machine); with it, a worker loads them from the cache (~0.1 s). The cache is keyed on
the source files, so editing a kernel recompiles it at its next use.

  python -m curation.precompile
"""
from __future__ import annotations

import time


def main() -> None:
    import pyarrow as pa

    from curation.heuristic_text import WordNgrams
    from curation.minhash import band_keys, fold_words, pair_jaccards

    start = time.process_time()
    texts = pa.array(["one two three four five six", "seven eight nine", None])
    band_keys(texts, 5, 112, 18, 6, 0)
    pair_jaccards(texts, texts, 5)
    fold_words(texts)
    ngrams = WordNgrams("a b a b c".split())
    ngrams.top_ngram_chars(2)
    ngrams.duplicate_ngram_chars(2)
    print(f"numba kernels compiled and cached ({time.process_time() - start:.1f} CPU-s)")


if __name__ == "__main__":
    main()
