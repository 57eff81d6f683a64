"""Each heuristic rule on crafted inputs: a clean page passes every rule; a page built to break one rule fails it."""
import pytest

from curation.rules.c4 import C4Rules
from curation.rules.fineweb import FineWebRules
from curation.rules.gopher import GopherQualityRules, GopherRepetitionRules
from curation.rules.sets import all_rule_sets, failed_rules
from curation.rules.text import WordNgrams, duplicate_counts, words

CLEAN = (
    "The river town of Alder Creek grew slowly during the nineteenth century, shaped by timber mills and the "
    "seasonal floods that carried logs downstream. Early settlers built their houses on stilts, and many of those "
    "structures still stand today along the eastern bank.\n\n"
    "Historians who studied the parish records found that most families arrived from the northern valleys. They "
    "brought with them a tradition of boat building that lasted until the railway reached the region in 1884. "
    "After that, freight moved by train and the old landings were abandoned.\n\n"
    "Today the town hosts a small museum with photographs, tools and letters from that period. Visitors can walk "
    "the restored boardwalk, read about the great flood of 1902, and watch volunteers repair a wooden barge using "
    "methods that have barely changed in a century."
)


def fails(text: str, **rule_sets) -> list[str]:
    """Rules the text fails, with all four sets at their defaults unless a set is given."""
    sets = all_rule_sets().model_copy(update=rule_sets)
    return failed_rules([text], sets).to_pylist()[0]


def test_clean_page_passes_every_rule():
    assert fails(CLEAN) == []


def test_rule_names_follow_set_and_parameter():
    names = all_rule_sets().rule_names()
    assert "gopher_quality.min_words" in names and "c4.curly_bracket" in names
    assert "fineweb.max_dup_line_char_ratio" in names and "gopher_repetition.max_dup_10gram_char_frac" in names
    assert len(names) == len(set(names)) == 30


# ---- Gopher quality ----

@pytest.mark.parametrize("rule, text, overrides", [
    ("min_words", "The sky over the harbour was grey and the wind was cold.", {}),
    ("max_words", CLEAN, {"max_words": 100}),
    ("min_avg_word_length", " ".join(["I am at it to be of an as so in on by up we do go no if or"] * 5), {}),
    ("max_avg_word_length", " ".join(["internationalization", "the", "counterrevolutionaries", "of",
                                      "electroencephalography", "and", "incomprehensibilities"] * 12), {}),
    ("max_hash_word_ratio", CLEAN + " #news #river #town #flood #museum #history #boats #rail" * 3, {}),
    ("max_ellipsis_word_ratio", " ".join(w + "..." if i % 5 == 0 else w for i, w in enumerate(CLEAN.split(" "))), {}),
    ("max_bullet_lines_ratio", "\n".join(f"• item {i} of the list, with the details and the price" for i in range(20)), {}),
    ("max_ellipsis_lines_ratio", "\n".join(f"Story {i} begins when the boat reached the old landing and then..."
                                           for i in range(12)), {}),
    ("min_alpha_words_ratio", CLEAN + " " + " ".join(str(1000 + i) for i in range(200)), {}),
    ("min_stop_words", " ".join(["Rivers carry timber downstream; boats moved freight until railways came."] * 8), {}),
])
def test_gopher_quality_rule_fails_on_crafted_page(rule, text, overrides):
    assert f"gopher_quality.{rule}" in fails(text, gopher_quality=GopherQualityRules(**overrides))
    assert f"gopher_quality.{rule}" not in fails(CLEAN, gopher_quality=GopherQualityRules())


def test_null_threshold_turns_a_rule_off():
    short = "The sky over the harbour was grey and the wind was cold."
    off = fails(short, gopher_quality=GopherQualityRules(min_words=None))
    assert "gopher_quality.min_words" not in off
    assert "gopher_quality.min_words" not in all_rule_sets().model_copy(
        update={"gopher_quality": GopherQualityRules(min_words=None)}).rule_names()


def test_empty_document_fails_only_length_and_content_rules():
    failed = fails("")
    assert "gopher_quality.min_words" in failed and "c4.min_sentences" in failed
    assert not any(name.startswith("gopher_repetition") for name in failed)


# ---- Gopher repetition ----

PARAGRAPHS = CLEAN.split("\n\n")


@pytest.mark.parametrize("rule, text", [
    ("max_dup_para_frac", "\n\n".join(PARAGRAPHS + [PARAGRAPHS[0]] * 2)),
    ("max_dup_para_char_frac", "\n\n".join(PARAGRAPHS + [PARAGRAPHS[2]])),
    ("max_dup_line_frac", "\n".join(PARAGRAPHS + ["Subscribe to our newsletter."] * 4)),
    ("max_dup_line_char_frac", "\n".join(PARAGRAPHS + [PARAGRAPHS[1]])),
    ("max_top_2gram_char_frac", CLEAN + " " + " ".join(["read more"] * 120)),
    ("max_top_3gram_char_frac", CLEAN + " " + " ".join(["click here now"] * 90)),
    ("max_top_4gram_char_frac", CLEAN + " " + " ".join(["add to shopping cart"] * 70)),
    ("max_dup_5gram_char_frac", CLEAN + " " + PARAGRAPHS[0]),
])
def test_gopher_repetition_rule_fails_on_crafted_page(rule, text):
    assert f"gopher_repetition.{rule}" in fails(text)


def test_dup_ngram_thresholds_differ_by_n():
    # One repeated sentence: about 14% of the characters lie in repeated 5..10-grams (DataTrove's skip-ahead
    # count makes the exact share vary with n): over the 10-gram limit (0.10), under the 5-gram one (0.15).
    sentence = PARAGRAPHS[2].split(". ")[1]
    text = CLEAN + " " + sentence
    failed = fails(text)
    assert "gopher_repetition.max_dup_10gram_char_frac" in failed
    assert "gopher_repetition.max_dup_5gram_char_frac" not in failed


def test_blank_lines_are_not_duplicate_lines():
    assert "gopher_repetition.max_dup_line_frac" not in fails("\n\n\n".join(PARAGRAPHS))


def test_word_ngram_measures_match_the_definitions():
    doc = "a b c a b c a b".split()
    ngrams = WordNgrams(doc)
    # 2-grams: ab x3, bc x2, ca x2 -> top = 3 * len("a b") = 9
    assert ngrams.top_ngram_chars(2) == 9
    # 3-grams abc, bca, cab, abc(repeat: +5, skip 3) -> then "a b" has no 3-gram: 5 chars
    assert ngrams.duplicate_ngram_chars(3) == 5
    assert duplicate_counts(["x", "yy", "x", "yy", "yy"]) == (3, 5)
    assert words("Don't split state-of-the-art, please.") == ["Don't", "split", "state-of-the-art", "please"]


# ---- C4 ----

def test_c4_lorem_ipsum_and_curly_bracket_and_sentences():
    assert "c4.lorem_ipsum" in fails(CLEAN + "\nLorem ipsum dolor sit amet, consectetur adipiscing elit.")
    assert "c4.curly_bracket" in fails(CLEAN + "\nThe config reads {debug: true} for every single run.")
    four = "One short line here. Two more words here. Three is a line. Four says the end."
    assert "c4.min_sentences" in fails(four)
    assert "c4.min_sentences" not in fails(four + " Five finishes it.")


def test_c4_page_rules_look_only_at_lines_c4_keeps():
    # No terminal punctuation, a javascript line and a two-word line are dropped before the page rules look.
    for line in ["function f() { return 1 }", "Enable JavaScript to view {this} page.", "{x} y."]:
        assert "c4.curly_bracket" not in fails(CLEAN + "\n" + line)
    assert "c4.curly_bracket" in fails(CLEAN + "\nfunction f() { return 1 }",
                                       c4=C4Rules(line_end_punct=False))
    # Cookie and terms-of-use lines do not count as sentences.
    policy = "\n".join(["This site uses cookies to improve your experience."] * 6)
    assert "c4.min_sentences" in fails(policy)


# ---- FineWeb ----

def test_fineweb_rules_fail_on_crafted_pages():
    no_punct = "\n".join(line.rstrip(".") for line in CLEAN.replace(". ", "\n").split("\n"))
    assert "fineweb.min_line_punct_ratio" in fails(no_punct)
    menu = "\n".join(["Home", "About us", "Products", "Shop", "Blog", "Careers", "Contact", CLEAN])
    assert "fineweb.max_short_line_ratio" in fails(menu)
    assert "fineweb.max_dup_line_char_ratio" in fails(CLEAN + "\nShare this article on social media.\n"
                                                      "Share this article on social media.")
    listing = "\n".join(f"Blend {i}" for i in range(30))
    assert "fineweb.max_newline_token_ratio" in fails(listing)


def test_fineweb_exclude_zero_lets_unpunctuated_pages_pass():
    no_punct = CLEAN.replace(".", "")
    assert "fineweb.min_line_punct_ratio" in fails(no_punct)
    assert "fineweb.min_line_punct_ratio" not in fails(no_punct, fineweb=FineWebRules(line_punct_exclude_zero=True))


def test_each_set_reports_rules_in_order_for_a_batch():
    texts = [CLEAN, "", "Lorem ipsum dolor sit amet, consectetur adipiscing elit."]
    result = failed_rules(texts, all_rule_sets()).to_pylist()
    assert result[0] == []
    order = all_rule_sets().rule_names()
    for row in result[1:]:
        assert row and row == sorted(row, key=order.index)
    assert GopherRepetitionRules().failures([]) .keys() >= {"gopher_repetition.max_dup_para_frac"}
