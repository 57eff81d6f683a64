"""Hadoop file system access from the driver: works for local paths, hdfs://, s3a:// etc. with the user's
connectors. The runner commits stage outputs through it (write, then rename into place)."""
from __future__ import annotations


class HadoopFS:
    """Tiny wrapper over the JVM Hadoop FileSystem for committing stage outputs atomically."""

    def __init__(self, spark, root: str):
        self._jvm = spark._jvm
        self._conf = spark._jsc.hadoopConfiguration()
        self._Path = self._jvm.org.apache.hadoop.fs.Path
        self.fs = self._Path(root).getFileSystem(self._conf)

    def _p(self, path: str):
        return self._Path(path)

    def exists(self, path: str) -> bool:
        return bool(self.fs.exists(self._p(path)))

    def delete(self, path: str) -> None:
        if self.exists(path):
            self.fs.delete(self._p(path), True)

    def rename(self, src: str, dst: str) -> None:
        parent = self._p(dst).getParent()
        if parent is not None:
            self.fs.mkdirs(parent)
        if not self.fs.rename(self._p(src), self._p(dst)):
            raise OSError(f"could not rename {src} -> {dst}")

    def mkdirs(self, path: str) -> None:
        self.fs.mkdirs(self._p(path))

    def write_text(self, path: str, text: str) -> None:
        out = self.fs.create(self._p(path), True)
        try:
            out.write(bytearray(text.encode("utf-8")))
        finally:
            out.close()

    def read_text(self, path: str) -> str:
        stream = self.fs.open(self._p(path))
        try:
            buf = self._jvm.java.io.ByteArrayOutputStream()
            self._jvm.org.apache.hadoop.io.IOUtils.copyBytes(stream, buf, 65536, False)
            return bytes(buf.toByteArray()).decode("utf-8")
        finally:
            stream.close()

    def list_names(self, path: str) -> list[str]:
        if not self.exists(path):
            return []
        return sorted(str(s.getPath().getName()) for s in self.fs.listStatus(self._p(path)))
