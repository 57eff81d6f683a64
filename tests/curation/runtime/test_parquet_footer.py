"""Stage Parquet files are byte-stable: the same rows written by two JVMs give the same bytes."""
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.pipeline.storage import read_parquet, write_parquet
from curation.runtime.parquet_footer import FooterError, normalize_encodings, normalize_folder
from tests.paths import REPO

# the parquet-format numbers of the encodings, the order the lists are sorted in
NUMBER = {"PLAIN": 0, "PLAIN_DICTIONARY": 2, "RLE": 3, "BIT_PACKED": 4, "DELTA_BINARY_PACKED": 5,
          "DELTA_LENGTH_BYTE_ARRAY": 6, "DELTA_BYTE_ARRAY": 7, "RLE_DICTIONARY": 8, "BYTE_STREAM_SPLIT": 9}

# rows with strings (dictionary-encoded, and `id` without a dictionary), longs, doubles, booleans and nulls
WRITE = """
import sys
from curation.pipeline.storage import write_parquet
def rows(spark):
    return spark.range(3000).selectExpr(
        "concat('doc', id) AS id", "concat('word ', id % 7) AS text", "IF(id % 5 = 0, NULL, id * 3) AS n",
        "id / 7.0 AS score", "id % 2 = 0 AS flag").coalesce(1)
if __name__ == "__main__":
    from curation.runtime.session import get_spark
    spark = get_spark(master="local[1]")
    write_parquet(rows(spark), sys.argv[1])
    spark.stop()
"""


def crc_file_ok(f: Path) -> bool:
    data, sums = f.read_bytes(), f.with_name(f".{f.name}.crc").read_bytes()
    step = struct.unpack(">i", sums[4:8])[0]
    return sums[8:] == b"".join(struct.pack(">I", zlib.crc32(data[i:i + step])) for i in range(0, len(data), step))


def test_files_are_byte_identical_across_jvms_and_read_back(spark, tmp_path):
    """parquet-mr lists a column chunk's encodings in an order that changes from JVM to JVM; write_parquet sorts
    them, so this session's JVM and a new one write identical files, which Spark (verifying Hadoop's checksums)
    and pyarrow read back unchanged."""
    script = tmp_path / "write_rows.py"
    script.write_text(WRITE)
    sys.path.insert(0, str(tmp_path))
    try:
        from write_rows import rows
    finally:
        sys.path.remove(str(tmp_path))
    here, there = tmp_path / "here", tmp_path / "there"
    write_parquet(rows(spark), str(here))
    done = subprocess.run([sys.executable, str(script), str(there)], cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    files, theirs = sorted(here.glob("*.parquet")), sorted(there.glob("*.parquet"))  # names carry a job's UUID
    assert len(files) == len(theirs) == 1
    for f, g in zip(files, theirs):
        meta = pq.ParquetFile(f).metadata
        lists = [meta.row_group(g).column(c).encodings for g in range(meta.num_row_groups)
                 for c in range(meta.num_columns)]
        assert all(len(e) >= 2 for e in lists)
        assert all(list(e) == sorted(e, key=NUMBER.__getitem__) for e in lists), lists
        assert f.read_bytes() == g.read_bytes()
        assert crc_file_ok(f) and crc_file_ok(g)
    want = sorted(rows(spark).collect())
    assert sorted(read_parquet(spark, str(here)).collect()) == want
    assert sorted(read_parquet(spark, str(there)).collect()) == want
    assert pq.read_table(here).num_rows == 3000


def test_sorted_footer_is_left_alone_and_shuffled_lists_sorted_back(tmp_path):
    """pyarrow lists these columns' encodings sorted already: nothing to change, not one byte written. The same
    file with the lists reversed (by a byte search here) gets them sorted back: the original bytes again."""
    t = pa.table({"a": pa.array([1, 2, None] * 200), "b": pa.array(["x", "y", "z"] * 200),
                  "c": pa.array([1.5, None, 2.5] * 200)})
    f = tmp_path / "t.parquet"
    pq.write_table(t, f, write_statistics=True, write_page_index=True)
    before = f.read_bytes()
    assert normalize_encodings(f) is False
    assert f.read_bytes() == before
    # ColumnMetaData field 2 (list header 0x19), 3 i32 elements (0x35): PLAIN, RLE, RLE_DICTIONARY as zigzag varints
    sorted_list, reversed_list = b"\x19\x35\x00\x06\x10", b"\x19\x35\x10\x06\x00"
    n = struct.unpack("<I", before[-8:-4])[0]
    footer_at = len(before) - 8 - n
    assert before[footer_at:].count(sorted_list) == 3
    shuffled = before[:footer_at] + before[footer_at:].replace(sorted_list, reversed_list)
    f.write_bytes(shuffled)
    meta = pq.ParquetFile(f).metadata
    assert meta.row_group(0).column(0).encodings == ("RLE_DICTIONARY", "RLE", "PLAIN")
    assert pq.read_table(f).equals(t)
    assert normalize_encodings(f) is True
    assert f.read_bytes() == before
    # pyarrow lists a boolean column's encodings as RLE, PLAIN: sorted, the file still reads the same
    b = tmp_path / "bool.parquet"
    pq.write_table(pa.table({"d": pa.array([True, False, None] * 200)}), b)
    assert pq.ParquetFile(b).metadata.row_group(0).column(0).encodings == ("RLE", "PLAIN")
    assert normalize_encodings(b) is True
    assert pq.ParquetFile(b).metadata.row_group(0).column(0).encodings == ("PLAIN", "RLE")
    assert pq.read_table(b).column("d").to_pylist() == [True, False, None] * 200


def test_not_parquet_or_cut_footer_is_an_error_and_file_untouched(tmp_path):
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"not a parquet file at all")
    with pytest.raises(FooterError, match="no Parquet footer"):
        normalize_encodings(junk)
    assert junk.read_bytes() == b"not a parquet file at all"
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"a": [1, 2, 3]}), good)
    data = bytearray(good.read_bytes())
    n = struct.unpack("<I", data[-8:-4])[0]
    cut = data[:-8 - n] + data[-8 - n:-8 - n // 2] + struct.pack("<I", n - n // 2) + b"PAR1"  # footer cut in half
    bad = tmp_path / "cut.parquet"
    bad.write_bytes(bytes(cut))
    with pytest.raises(FooterError):
        normalize_encodings(bad)
    assert bad.read_bytes() == bytes(cut)
    # in a stage's folder an unreadable footer is left as written, with a warning; the others are still done
    with pytest.warns(UserWarning, match="footer left as written"):
        assert normalize_folder(tmp_path) == 0
    assert bad.read_bytes() == bytes(cut) and junk.read_bytes() == b"not a parquet file at all"
