"""The olmOCR-bench matching rules (curation/extract/pdf_eval.py), on cases with known answers."""
from curation.extract import pdf_eval as bench


def test_edit_distances():
    assert bench.levenshtein("kitten", "sitting") == 3
    assert bench.lcs_length("abcde", "ace") == 3
    # rapidfuzz: fuzz.partial_ratio("hello world", "xx hallo world yy") == 90.909...
    assert round(bench.partial_ratio("hello world", "xx hallo world yy"), 4) == 0.9091


def test_presence_follows_max_diffs_case_and_last_n():
    present = {"type": "present", "text": "the quick brown fox"}
    assert bench.presence_passes({**present, "max_diffs": 1}, "a the quick brwn fox b")
    assert not bench.presence_passes(present, "a the quick brwn fox b")
    assert bench.presence_passes({**present, "case_sensitive": False}, "THE QUICK BROWN FOX")
    assert bench.presence_passes(present, "the  quick\nbrown **fox**")  # whitespace and bold are normalized
    page_number = {"type": "absent", "text": "1", "last_n": 20}
    assert not bench.presence_passes(page_number, "body text of the page\n1")
    assert bench.presence_passes(page_number, "1 body text of the page, long enough")


def test_order_needs_a_before_match_ahead_of_an_after_match():
    assert bench.order_passes({"before": "alpha", "after": "beta"}, "alpha then beta")
    assert not bench.order_passes({"before": "beta", "after": "alpha"}, "alpha then beta")
    assert bench.order_passes({"before": "alpah", "after": "beta", "max_diffs": 1}, "alpha then beta")


def test_latex_words_are_what_the_document_prints():
    source = r"""\documentclass{article}\usepackage{lipsum}
\begin{document}
\section{Intro} Some \textbf{bold} words % a comment
\includegraphics{figure.png}\lipsum[1-3]
\end{document}"""
    assert bench.latex_words(source) == ["intro", "some", "bold", "words"]
