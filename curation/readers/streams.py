"""Bounded, damage-tolerant decompression and line splitting for file readers (no Spark).

:class:`DecodedStream` decompresses ``.gz``, ``.zst``/``.zstd``, ``.bz2`` and ``.xz`` (or passes plain bytes
through) with three guards:

* a cap on the decompressed bytes of the file (``max_bytes``) and on the decompression ratio (``max_ratio``, checked
  once ``ratio_floor`` bytes came out), so a small bomb stops early instead of after gigabytes;
* output is handed on as soon as it is decompressed and an error is raised only on the next read, so every byte
  before damage reaches the reader;
* damage is recorded in :attr:`DecodedStream.damage` instead of ending the file where the format has resync points:
  a gzip stream resumes at the next member header (``1f 8b 08``) after the damaged one.

:func:`iter_lines` splits a stream into lines without ever holding one longer than ``max_line`` bytes: a longer line
is skipped as it streams and reported by its size.
"""
from __future__ import annotations

import bz2
import io
import lzma
import zlib
from typing import Iterator

CHUNK = 1 << 16
GZIP_MAGIC = b"\x1f\x8b\x08"
DEFAULT_MAX_RATIO = 200.0
DEFAULT_RATIO_FLOOR = 64 << 20


class LimitExceeded(ValueError):
    """The decompressed size or the decompression ratio passed its limit (a decompression bomb or a mislabelled
    file)."""


def compression_of(path: str) -> str | None:
    lower = path.lower()
    for suffixes, kind in (((".gz",), "gz"), ((".zst", ".zstd"), "zst"), ((".bz2",), "bz2"), ((".xz",), "xz")):
        if lower.endswith(suffixes):
            return kind
    return None


class _Counting(io.RawIOBase):
    """Counts the compressed bytes read (for the ratio check)."""

    def __init__(self, raw):
        self.raw, self.n = raw, 0

    def readable(self):
        return True

    def read(self, size=-1):
        data = self.raw.read(size)
        self.n += len(data)
        return data

    def readinto(self, b):
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)


class DecodedStream(io.RawIOBase):
    """The decompressed bytes of ``raw`` (``kind``: gz, zst, bz2, xz or None) with the guards of the module
    docstring. ``damage`` lists one message per damaged stretch (naming the compressed byte offset)."""

    def __init__(self, raw, kind: str | None, max_bytes: int, max_ratio: float = DEFAULT_MAX_RATIO,
                 ratio_floor: int = DEFAULT_RATIO_FLOOR):
        self.src = _Counting(raw)
        self.kind, self.max_bytes, self.max_ratio, self.ratio_floor = kind, max_bytes, max_ratio, ratio_floor
        self.out_total = 0
        self.damage: list[str] = []
        self._pending: BaseException | None = None
        self._dec = None
        self._buf = b""  # compressed bytes not yet given to the decompressor
        self._eof = False
        self._zstd = None
        if kind == "zst":
            import zstandard

            self._zstd = zstandard.ZstdDecompressor().stream_reader(self.src, read_across_frames=True)

    def readable(self):
        return True

    def close(self):
        try:
            self.src.raw.close()
        finally:
            super().close()

    def readinto(self, b) -> int:
        if self._pending is not None:
            exc, self._pending = self._pending, None
            raise exc
        try:
            data = self._produce(len(b))
        except (LimitExceeded, MemoryError):
            raise
        except Exception as exc:  # noqa: BLE001 - damage the format cannot resync from ends the stream
            self.damage.append(f"unreadable {self.kind or 'data'} at compressed byte {self.src.n}: "
                               f"{type(exc).__name__}: {exc}")
            self._eof = True
            data = b""
        self.out_total += len(data)
        if self.out_total > self.max_bytes:
            self._pending = LimitExceeded(f"decompressed size exceeds max_file_bytes ({self.max_bytes})")
        elif self.kind and self.out_total > self.ratio_floor and self.out_total > self.max_ratio * max(self.src.n, 1):
            self._pending = LimitExceeded(f"decompression ratio above max_ratio ({self.max_ratio:g}): "
                                          f"{self.out_total} bytes from {self.src.n}")
        b[:len(data)] = data
        return len(data)

    # ---- decompression ----
    def _produce(self, size: int) -> bytes:
        if self._eof:
            return b""
        if self.kind is None:
            return self.src.read(size)
        if self._zstd is not None:
            return self._zstd.read(size)
        while True:
            if self._dec is None:
                if not self._buf:
                    self._buf = self.src.read(CHUNK)
                    if not self._buf:
                        self._eof = True
                        return b""
                if self.kind == "gz" and not self._buf.startswith(GZIP_MAGIC[:len(self._buf)]):
                    if not self._buf.strip(b"\x00"):  # zero padding after the last member
                        self._buf = b""
                        continue
                    return self._resync("bytes that are not a gzip member")
                self._dec = self._new_decompressor()
            try:
                out = self._step(size)
            except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError) as exc:
                if self.kind == "gz":
                    return self._resync(f"{type(exc).__name__}: {exc}")
                raise
            if out:
                return out
            if self._dec.eof:
                self._buf = self._dec.unused_data + self._buf
                self._dec = None
                continue
            more = self.src.read(CHUNK)
            if not more:
                self.damage.append(f"truncated {self.kind} stream after {self.src.n} compressed bytes")
                self._eof = True
                return b""
            self._buf += more

    def _new_decompressor(self):
        if self.kind == "gz":
            return zlib.decompressobj(31)
        if self.kind == "bz2":
            return bz2.BZ2Decompressor()
        return lzma.LZMADecompressor()

    def _step(self, size: int) -> bytes:
        dec = self._dec
        if self.kind == "gz":
            out = dec.decompress(self._buf, size)
            self._buf = dec.unconsumed_tail
            return out
        if dec.eof:
            return b""
        data, self._buf = (self._buf, b"") if dec.needs_input else (b"", self._buf)
        return dec.decompress(data, max_length=size)

    def _resync(self, why: str) -> bytes:
        """Skip to the next gzip member header after damage; a newline ends the line the damage cut."""
        at = self.src.n - len(self._buf)
        self._dec = None
        search = self._buf[1:]
        skipped = 1 if self._buf else 0
        while True:
            i = search.find(GZIP_MAGIC)
            if i >= 0:
                self._buf = search[i:]
                self.damage.append(f"damaged gzip data at compressed byte {at} ({why}); resumed at byte "
                                   f"{at + skipped + i}")
                return b"\n"
            keep = search[-2:]
            skipped += len(search) - len(keep)
            more = self.src.read(CHUNK)
            if not more:
                self.damage.append(f"damaged gzip data at compressed byte {at} ({why}); nothing readable after it")
                self._buf, self._eof = b"", True
                return b"\n"
            search = keep + more


def iter_lines(stream, max_line: int) -> Iterator[tuple[int, bytes | None, int]]:
    """``(line number, line bytes or None when longer than max_line, line size)`` for every line of ``stream``;
    at most ``max_line`` + one read of bytes are held. A partial last line is yielded before an error of
    ``stream`` propagates."""
    buf = bytearray()
    line_no, skipping = 0, 0
    while True:
        try:
            chunk = stream.read(1 << 20)
        except BaseException:
            if buf or skipping:
                line_no += 1
                yield (line_no, None, skipping + len(buf)) if skipping else (line_no, bytes(buf), len(buf))
            raise
        if not chunk:
            break
        buf += chunk
        start = 0
        while True:
            i = buf.find(b"\n", start)
            if i < 0:
                break
            line_no += 1
            n = i + 1 - start
            if skipping or n > max_line:
                yield line_no, None, skipping + n
                skipping = 0
            else:
                yield line_no, bytes(buf[start:i + 1]), n
            start = i + 1
        del buf[:start]
        if len(buf) > max_line:
            skipping += len(buf)
            buf.clear()
    if buf or skipping:
        line_no += 1
        yield (line_no, None, skipping + len(buf)) if skipping else (line_no, bytes(buf), len(buf))
