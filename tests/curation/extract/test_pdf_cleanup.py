"""Page-text cleanup rules, each on the kind of text it is meant for."""
from curation.extract.pdf_cleanup import PageLines, clean_pages, drop_ocr_noise, normalize_page_text


def _placed(*rows: tuple[float, str]) -> PageLines:
    """A text-layer page: (vertical position as a fraction of the page height, line text)."""
    page = PageLines()
    for y, text in rows:
        page.add(text, top=y, bottom=y + 0.012)
        page.end_block()
    return page


def test_margin_stamps_and_book_running_heads_go_body_stays():
    page = _placed((0.02, "Downloaded from http://example.org/ on July 12, 2017"),
                   (0.09, "400"), (0.09, "BRITISH HUSBANDRY."), (0.09, "[Ch. XIX."),
                   (0.12, "Since the use of bones has become general, the turnip crop has grown."),
                   (0.50, "More body text in the middle of the page."),
                   (0.97, "Download date: 28 Dec 2018"))
    text, _ = clean_pages([page])
    assert text == ("Since the use of bones has become general, the turnip crop has grown.\n\n"
                    "More body text in the middle of the page.")


def test_ocr_page_loses_its_numbered_running_head_but_not_a_sentence():
    head = PageLines.from_text("400 BRITISH HUSBANDRY. (Ch. XIX.\nany—was very trifling. Since the use")
    sentence = PageLines.from_text("1848 was a year of revolutions in Europe.\nIt began in Sicily.")
    text, offsets = clean_pages([head, sentence])
    assert text == "any—was very trifling. Since the use\n\n1848 was a year of revolutions in Europe.\nIt began in Sicily."
    assert offsets == [0, text.index("1848")]


def test_normalization_rejoins_what_typesetting_split():
    assert normalize_page_text("the experi-\nment and a well-\nKnown case") == "the experiment and a well-\nKnown case"
    assert normalize_page_text("O\n\nver the past decades") == "Over the past decades"
    assert normalize_page_text("thank J\u00b4an Min\u00b4a\u02c7c, don\u00b4t") == "thank Ján Mináč, don\u00b4t"
    assert normalize_page_text("\u2018\u2018quoted\u2019\u2019") == "\u201cquoted\u201d"
    assert normalize_page_text("a\u00a0b \t c  \n\n\n\nd ") == "a b c\n\nd"


def test_ocr_noise_lines_are_dropped():
    ocr = "THE VISION\n‘ \\\n- oa\ni,\nby FutureSkill\n~ SSSRSESRas >\n12"
    assert [line for line in drop_ocr_noise(ocr).split("\n") if line] == ["THE VISION", "by FutureSkill",
                                                                          "~ SSSRSESRas >"]
