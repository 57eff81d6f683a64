"""Line/paragraph hashing and removal: exact keys after whitespace folding, short and blank lines never counted or
removed, the rest of the text unchanged."""
import pyarrow as pa

from curation.clean.lines import remove_batch, remove_units, unit_hash, unit_key, units_batch


def test_units_are_distinct_per_document_and_short_lines_skipped():
    batch = pa.RecordBatch.from_pydict({"id": ["a", "b"], "text": [
        "Accept all cookies\n\n|\nAccept   all cookies \nBody text of a.\n", "Body text of b.\nAccept all cookies"]})
    out = units_batch(batch, "line", 10, 200).to_pydict()
    assert out["id"] == ["a", "a", "b", "b"]
    assert out["line"] == ["Accept all cookies", "Body text of a.", "Body text of b.", "Accept all cookies"]
    assert out["hash"][0] == out["hash"][3] == unit_hash("Accept all cookies")


def test_remove_lines_keeps_everything_else():
    cookie = unit_hash(unit_key("Accept all cookies"))
    text = "Accept all cookies\nTitle\n\nBody line one.\n  Accept all cookies  \nLast line.\n"
    assert remove_units(text, {cookie}, "line", 10) == ("Title\n\nBody line one.\nLast line.\n", 2)
    assert remove_units("Accept all cookies", {cookie}, "line", 10) == ("", 1)
    assert remove_units(text, set(), "line", 10) == (text, 0)
    # a unit shorter than min_chars is never removed, even when its hash is listed
    assert remove_units("Home\nText here.", {unit_hash("Home")}, "line", 10) == ("Home\nText here.", 0)


def test_paragraph_unit():
    footer = "Copyright 2019 Example Inc.\nAll rights reserved."
    text = f"First paragraph.\n\n{footer}\n\nSecond paragraph."
    assert remove_units(text, {unit_hash(unit_key(footer))}, "paragraph", 10) == (
        "First paragraph.\n\nSecond paragraph.", 1)
    assert remove_units(f"{footer}\n\nOnly body.", {unit_hash(unit_key(footer))}, "paragraph", 10) == ("Only body.", 1)


def test_remove_batch():
    h = unit_hash("Share this article")
    batch = pa.RecordBatch.from_pydict({"id": ["a", "b"], "text": ["Share this article\nNews.", "Kept as is."],
                                        "remove": [[h], None]})
    out = remove_batch(batch, "line", 10)
    assert out.schema.names == ["id", "text", "lines_removed"]
    assert out.column("text").to_pylist() == ["News.", "Kept as is."]
    assert out.column("lines_removed").to_pylist() == [1, 0]
