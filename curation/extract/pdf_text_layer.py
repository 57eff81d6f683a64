"""A PDF page's text layer as lines in content order, with their vertical position (for header and footer
removal). Word spaces are rebuilt from glyph positions where a font has no space glyphs, and lines written in a
minority direction (rotated margin stamps, arXiv ids, axis labels) are dropped. No Spark here.
"""
from __future__ import annotations

import re

import pymupdf

from curation.extract.pdf_cleanup import PageLines

# A "word" of 20+ letters ("CompositionofthepretrainingdataforOLMo2"): a font without space glyphs whose
# word gaps are too narrow for MuPDF to turn into spaces
_RUN_TOGETHER = re.compile(r"[^\W\d_]{20,}")
# a gap wider than this fraction of the font size between two glyphs of a line is a word space
WORD_GAP = 0.1


def _respaced(line: dict) -> str:
    """A line's text rebuilt from its glyph boxes, with a space wherever two glyphs stand a word gap apart."""
    out: list[str] = []
    previous = None
    for span in line["spans"]:
        for char in span["chars"]:
            if previous is not None and char["c"] != " " and out[-1] != " " \
                    and char["bbox"][0] - previous["bbox"][2] > WORD_GAP * span["size"]:
                out.append(" ")
            out.append(char["c"])
            previous = char
    return "".join(out)


def text_layer_lines(page: pymupdf.Page) -> PageLines:
    """Lines of the text layer in content order with their vertical position; blocks end with a blank line.

    Lines written in a minority direction (rotated margin stamps such as "Downloaded from ...", arXiv ids,
    rotated axis labels) are dropped.
    """
    data = page.get_text("dict", flags=pymupdf.TEXTFLAGS_TEXT)
    glyphs = None  # the page's glyph positions, read only if some line needs its word spaces rebuilt
    lines = []
    for b, block in enumerate(data["blocks"]):
        for n, line in enumerate(block.get("lines", ())):
            text = "".join(span["text"] for span in line["spans"])
            if _RUN_TOGETHER.search(text):
                glyphs = glyphs or page.get_text("rawdict", flags=pymupdf.TEXTFLAGS_TEXT)
                text = _respaced(glyphs["blocks"][b]["lines"][n])
            if text.strip():
                lines.append((line["dir"], line["bbox"], text))
        lines.append(None)
    weight: dict[tuple, int] = {}
    for entry in lines:
        if entry:
            key = (round(entry[0][0]), round(entry[0][1]))
            weight[key] = weight.get(key, 0) + len(entry[2])
    main_dir = max(weight, key=weight.get) if weight else (1, 0)
    height = page.cropbox.height or 1.0  # text coordinates ignore /Rotate, so does the margin test
    out = PageLines()
    for entry in lines:
        if entry is None:
            out.end_block()
        elif (round(entry[0][0]), round(entry[0][1])) == main_dir:
            bbox = entry[1]
            out.add(entry[2], top=bbox[1] / height, bottom=bbox[3] / height)
    return out
