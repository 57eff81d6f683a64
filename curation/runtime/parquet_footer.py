"""Byte-stable Parquet footers for the files Spark writes.

parquet-mr lists each column chunk's encodings (``ColumnMetaData.encodings``) in the order of a ``HashSet`` of enum
constants, whose hash codes are identity hashes: a new JVM can list ``PLAIN, RLE, BIT_PACKED`` where the last one
listed ``BIT_PACKED, RLE, PLAIN``. Same rows, same pages, different bytes. parquet-mr has no setting for this order.

:func:`normalize_encodings` sorts those lists in place, in the file's footer. The footer is Thrift's compact
protocol; a sorted list holds the same elements, so its bytes have the same length and nothing else in the file
moves. A Hadoop checksum file beside it (``.<name>.crc``, written by Hadoop's local file system) is rewritten to
match. Readers are unaffected: the list is a set, and no reader depends on its order.
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

MAGIC = b"PAR1"
# the footer's path to the lists: FileMetaData.row_groups (4) -> RowGroup.columns (1) -> ColumnChunk.meta_data (3)
# -> ColumnMetaData.encodings (2)
_PATH = (4, 1, 3, 2)
# compact protocol types
_STOP, _TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT, _UUID = range(14)


class FooterError(ValueError):
    """The bytes are not a Parquet footer this reader understands."""


class _Reader:
    def __init__(self, buf: bytearray):
        self.buf, self.pos = buf, 0
        self.lists: list[tuple[int, list[tuple[int, int, int]]]] = []  # (start, [(value, start, end)])

    def byte(self) -> int:
        if self.pos >= len(self.buf):
            raise FooterError("footer ends inside a value")
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def varint(self) -> int:
        shift = out = 0
        while True:
            b = self.byte()
            out |= (b & 0x7F) << shift
            if not b & 0x80:
                return out
            shift += 7
            if shift > 70:
                raise FooterError("varint too long")

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def skip(self, n: int) -> None:
        if n < 0 or self.pos + n > len(self.buf):
            raise FooterError("footer ends inside a value")
        self.pos += n

    def value(self, kind: int, path: tuple[int, ...]) -> None:
        """Read one value of compact type ``kind``; ``path`` is what remains of ``_PATH`` below it."""
        if kind in (_TRUE, _FALSE):
            return  # a field's boolean lives in its header; a list's takes one byte (read by the list)
        if kind == _BYTE:
            self.skip(1)
        elif kind in (_I16, _I32, _I64):
            self.varint()
        elif kind == _DOUBLE:
            self.skip(8)
        elif kind == _BINARY:
            self.skip(self.varint())
        elif kind == _UUID:
            self.skip(16)
        elif kind in (_LIST, _SET):
            self.sequence(path)
        elif kind == _MAP:
            size = self.varint()
            if size:
                types = self.byte()
                for _ in range(size):
                    self.element(types >> 4, (-1,))
                    self.element(types & 0x0F, (-1,))
        elif kind == _STRUCT:
            self.struct(path)
        else:
            raise FooterError(f"unknown compact type {kind}")

    def element(self, kind: int, path: tuple[int, ...]) -> None:
        if kind in (_TRUE, _FALSE):
            self.skip(1)
        else:
            self.value(kind, path)

    def sequence(self, path: tuple[int, ...]) -> None:
        head = self.byte()
        size, kind = head >> 4, head & 0x0F
        if size == 15:
            size = self.varint()
        if path == () and kind == _I32:  # the end of _PATH: an encodings list (off the path, fields get (-1,))
            items = []
            for _ in range(size):
                start = self.pos
                items.append((self.zigzag(), start, self.pos))
            self.lists.append((items[0][1] if items else self.pos, items))
            return
        for _ in range(size):
            self.element(kind, path)

    def struct(self, path: tuple[int, ...]) -> None:
        field = 0
        while True:
            head = self.byte()
            kind = head & 0x0F
            if kind == _STOP:
                return
            delta = head >> 4
            field = field + delta if delta else self.zigzag()
            self.value(kind, path[1:] if path and field == path[0] else (-1,))


def sorted_footer(footer: bytes) -> bytes:
    """``footer`` (a serialized FileMetaData) with every column chunk's encodings list sorted by encoding number."""
    r = _Reader(bytearray(footer))
    r.struct(_PATH)
    if r.pos != len(footer):
        raise FooterError(f"footer has {len(footer) - r.pos} bytes after its end")
    out = bytearray(footer)
    for start, items in r.lists:
        chunks = [bytes(footer[s:e]) for _, s, e in sorted(items)]
        out[start:start + sum(map(len, chunks))] = b"".join(chunks)
    return bytes(out)


def _patch_crc(data_path: Path, f, start: int, end: int) -> None:
    """Update Hadoop's checksum file of ``data_path`` (header ``crc\\0``, bytes per checksum, then a big-endian
    CRC-32 per chunk), when there is one, for a change of bytes ``start:end``: only the chunks they touch are read
    again (from the open file ``f``)."""
    crc = data_path.with_name(f".{data_path.name}.crc")
    try:
        sums = bytearray(crc.read_bytes())
    except FileNotFoundError:
        return
    step = struct.unpack(">i", sums[4:8])[0] if len(sums) >= 8 and sums[:4] == b"crc\x00" else 0
    f.seek(0, 2)
    size = f.tell()
    if step <= 0 or len(sums) != 8 + 4 * -(-size // step):
        crc.unlink()  # not a checksum file we know: a stale one would fail every verified read
        return
    for chunk in range(start // step, -(-end // step)):
        f.seek(chunk * step)
        sums[8 + 4 * chunk:12 + 4 * chunk] = struct.pack(">I", zlib.crc32(f.read(step)))
    tmp = crc.with_name(crc.name + ".tmp")
    tmp.write_bytes(bytes(sums))
    tmp.replace(crc)


def normalize_encodings(path: str | Path) -> bool:
    """Sort the encodings lists in the footer of the Parquet file at ``path`` in place; whether anything changed.

    Raises :class:`FooterError` for a file that is not Parquet or a footer it cannot read (the file is untouched)."""
    path = Path(path)
    with open(path, "r+b") as f:
        f.seek(0, 2)
        size = f.tell()
        if size < 12:
            raise FooterError(f"{path}: too short for Parquet")
        f.seek(size - 8)
        tail = f.read(8)
        n = struct.unpack("<I", tail[:4])[0]
        if tail[4:] != MAGIC or n + 12 > size:
            raise FooterError(f"{path}: no Parquet footer")
        start = size - 8 - n
        f.seek(start)
        footer = f.read(n)
        fixed = sorted_footer(footer)
        if fixed == footer:
            return False
        f.seek(start)
        f.write(fixed)
        f.flush()
        _patch_crc(path, f, start, start + n)
    return True


def normalize_folder(folder: str | Path) -> int:
    """:func:`normalize_encodings` on every ``*.parquet`` file in ``folder``; how many changed. A footer it cannot
    read (a newer format) is left as written, with a warning: byte-stable bytes are not worth a failed stage."""
    import warnings

    changed = 0
    for p in sorted(Path(folder).glob("*.parquet")):
        try:
            changed += normalize_encodings(p)
        except FooterError as exc:
            warnings.warn(f"Parquet footer left as written: {exc}", stacklevel=2)
    return changed
