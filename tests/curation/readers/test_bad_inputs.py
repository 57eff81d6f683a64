"""Hardening of the readers, case by case without Spark: every broken input becomes error rows naming its cause,
and the good documents around it are kept (the inputs: ``bad_set`` in conftest.py)."""
import time

from curation.readers.jsonl import jsonl_records
from curation.readers.pdf import pdf_records
from curation.readers.streams import DecodedStream, iter_lines
from curation.readers.warc import warc_records


def rows_of(fn, path, options=None):
    rows = list(fn(str(path), options or {}))
    return [r for r in rows if r["reason"] is None], [r for r in rows if r["reason"] is not None]


def test_lone_surrogate_is_one_error_row(bad_set):
    root, _, _ = bad_set
    kept, bad = rows_of(jsonl_records, root / "jsonl/bad/surrogate.jsonl")
    assert len(kept) == 6 and [r["meta"]["record_offset"] for r in bad] == [4]
    assert "invalid Unicode" in bad[0]["reason"]


def test_bombs_stop_early_in_every_format_keeping_the_lines_before(bad_set):
    import resource

    root, _, _ = bad_set
    for kind in ("gz", "zst", "bz2", "xz"):
        t0 = time.monotonic()
        kept, bad = rows_of(jsonl_records, root / f"jsonl/bad/bomb.jsonl.{kind}")
        assert len(kept) == 5, kind
        assert any("decompression ratio above max_ratio" in r["reason"] for r in bad), (kind, bad)
        assert time.monotonic() - t0 < 20, kind  # 10 GiB would take minutes to inflate
    # the 64 MiB of zeros before the ratio check fires stream through as one long line: never held whole
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 1_500_000  # KiB


def test_long_line_is_skipped_as_it_streams():
    import io

    data = b"short\n" + b"x" * 5_000_000 + b"\nafter\n"
    lines = list(iter_lines(DecodedStream(io.BytesIO(data), None, 1 << 30), 1000))
    assert lines == [(1, b"short\n", 6), (2, None, 5_000_001), (3, b"after\n", 6)]


def test_long_line_beside_good_lines(bad_set):
    root, _, _ = bad_set
    kept, bad = rows_of(jsonl_records, root / "jsonl/bad/long-line.jsonl", {"max_doc_bytes": 1 << 20})
    assert len(kept) == 4 and len(bad) == 1 and "larger than max_doc_bytes" in bad[0]["reason"]


def test_repeated_explicit_id_is_rejected_naming_the_first(bad_set):
    root, _, _ = bad_set
    kept, bad = rows_of(jsonl_records, root / "jsonl/bad/dup-ids.jsonl")
    assert [r["id"] for r in kept] == ["same"] and "duplicate id 'same' (first at line 1)" in bad[0]["reason"]
    assert bad[0]["id"] == "dup-ids.jsonl:2"


def test_truncated_and_corrupt_gzip_keep_every_readable_line(bad_set):
    root, _, _ = bad_set
    kept, bad = rows_of(jsonl_records, root / "jsonl/bad/truncated.jsonl.gz")
    assert sum("GOOD" in r["text"] for r in kept) == 15
    assert any("truncated gz stream" in r["reason"] for r in bad)
    kept, bad = rows_of(jsonl_records, root / "jsonl/bad/corrupt.jsonl.gz")
    # the members before and after the damaged one: resynchronised at the next member header
    assert sum("GOOD" in r["text"] for r in kept) == 15 and not any("LOST" in r["text"] for r in kept)
    assert len([r for r in bad if "damaged gzip data" in r["reason"]]) == 1


def test_deep_json_line_is_one_error_row(bad_set):
    root, _, _ = bad_set
    kept, bad = rows_of(jsonl_records, root / "jsonl/bad/deep.jsonl")
    assert len(kept) == 4 and len(bad) == 1 and "nested too deep" in bad[0]["reason"]


def test_deep_html_is_refused_before_parsing_and_the_time_limit_holds_for_c_code(bad_set):
    root, _, _ = bad_set
    path = root / "warc/bad/deep.warc.gz"
    kept, bad = rows_of(warc_records, path, {"extractor": "resiliparse"})
    assert len(kept) == 2 and "HTML nested 20000 deep" in bad[0]["reason"]
    # without the depth guard the watchdog stops the C extractor (it would take ~19 s on this page)
    t0 = time.monotonic()
    kept, bad = rows_of(warc_records, path, {"extractor": "resiliparse", "max_html_depth": 0,
                                             "extract_time_limit_s": 1})
    assert len(kept) == 2 and "time limit of 1 s exceeded" in bad[0]["reason"], bad
    assert time.monotonic() - t0 < 8


def test_warc_damage_is_reported_and_records_after_it_are_read(bad_set):
    root, _, expect = bad_set
    for name, n_good in (("truncated.warc", 3), ("content-length.warc", 3), ("damaged-member.warc.gz", 4)):
        kept, bad = rows_of(warc_records, root / "warc/bad" / name, {"extractor": "resiliparse"})
        assert sum("GOOD" in r["text"] for r in kept) == n_good, (name, bad)
        assert not any("lying length" in r["text"] or "lost member" in r["text"] for r in kept), name
        assert any(expect[name] in r["reason"] for r in bad), (name, bad)
        assert all(r["reason"].startswith(f"error: {name}") for r in bad if r["reason"].startswith("error")), bad


def test_charsets_utf8_with_a_bad_byte_and_utf16_32_with_a_bom(bad_set):
    root, _, _ = bad_set
    kept, bad = rows_of(warc_records, root / "warc/bad/charsets.warc.gz", {"extractor": "resiliparse"})
    assert not bad and len(kept) == 3
    by_charset = {r["meta"]["charset"]: r for r in kept}
    assert set(by_charset) == {"utf-16-le", "utf-32-le", "utf-8"}
    assert all("GOOD-" in r["text"] for r in kept)
    utf8 = by_charset["utf-8"]
    assert "Grüße" in utf8["text"] and "K\ufffdln" in utf8["text"] and "Ã" not in utf8["text"]
    assert utf8["meta"]["extra"] == {"invalid_bytes": "1"}


def test_blank_pdf_is_rejected_with_a_reason(bad_set):
    root, _, _ = bad_set
    _, bad = rows_of(pdf_records, root / "pdf/blank.pdf", {"ocr": False})
    assert bad[0]["reason"].startswith("skipped: no text") and "3" in bad[0]["reason"]
    kept, _ = rows_of(pdf_records, root / "pdf/good.pdf", {"ocr": False})
    assert len(kept) == 1 and "GOOD-" in kept[0]["text"]


def test_names_that_become_paths_are_validated():
    import pytest

    from curation.pipeline.spec import SpecError, spec_from_mapping

    base = {"out": "/tmp/unused", "inputs": [{"format": "jsonl", "path": "x"}], "stages": {"ingest": {}}}
    for stages, why in (({"rejected": {"type": "ingest"}}, "reserved"), ({"_tmp": {"type": "ingest"}}, "safe folder"),
                        ({"..": {"type": "ingest"}}, "safe folder"), ({"a/b": {"type": "ingest"}}, "safe folder")):
        with pytest.raises(SpecError, match=why):
            spec_from_mapping({**base, "stages": stages})
    for source in ("..", ".", "a/b", ""):
        with pytest.raises(SpecError, match="inputs.0.source"):
            spec_from_mapping({**base, "inputs": [{"format": "jsonl", "path": "x", "source": source}]})
    spec = spec_from_mapping({**base, "inputs": [{"format": "jsonl", "path": "x", "source": "web"},
                                                 {"format": "jsonl", "path": "y"},
                                                 {"format": "jsonl", "path": "z", "source": "web"}]})
    assert [i.id_prefix for i in spec.inputs] == ["web0", "input1", "web2"]


def test_record_source_that_is_a_path_becomes_an_error_row(bad_set):
    from curation.readers.file_source import _unsafe_source

    root, _, _ = bad_set
    rows = [_unsafe_source(r) for r in jsonl_records(str(root / "jsonl/bad/unsafe-source.jsonl"), {})]
    assert [r["reason"] for r in rows[:2]] == [None, None]
    assert [r["reason"][:32] for r in rows[2:]] == ["error: unsafe source name '..' (", "error: unsafe source name '.' (a"]
    assert all(r["source"] is None for r in rows[2:])


def test_ids_do_not_depend_on_where_the_data_lives(tmp_path):
    from curation.pipeline.spec import InputSpec
    from curation.readers.file_source import input_names

    for where in ("one", "two/deeper"):
        for sub in ("a", "b"):
            (tmp_path / where / "data" / sub).mkdir(parents=True)
            (tmp_path / where / "data" / sub / "part-00000.jsonl").write_text('{"text": "x"}\n')
    names = [sorted(input_names(InputSpec(format="jsonl", path=str(tmp_path / w / "data"), source="web"),
                                [str(tmp_path / w / "data" / s / "part-00000.jsonl") for s in ("a", "b")]).values())
             for w in ("one", "two/deeper")]
    assert names[0] == names[1] == ["web/a/part-00000.jsonl", "web/b/part-00000.jsonl"]
    glob_names = input_names(InputSpec(format="jsonl", path=str(tmp_path / "one/data/*/part-*.jsonl")),
                             [str(tmp_path / "one/data/a/part-00000.jsonl")])
    assert list(glob_names.values()) == ["input/a/part-00000.jsonl"]
