"""The extraction helper processes: exec'd interpreters that carry only their extractor (not forks of the worker's
import set), answer over JSON, and are replaced after a timeout or a crash."""
import sys

import pytest

from curation.extract.pdf import PdfOptions
from curation.readers.helper_process import Helper, HelperDied, HelperTimeout
from curation.readers.html_guard import ExtractionWatchdog
from curation.readers.pdf import IsolatedExtractor
from tests.paths import shared_path

PAGE = "<html><body><article><h1>T</h1><p>" + "A plain useful sentence of the page. " * 20 + "</p></article></body></html>"


def mapped_libraries(pid: int) -> str:
    with open(f"/proc/{pid}/maps") as fh:
        return fh.read()


def resident_mib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:")) >> 10


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_helpers_are_fresh_interpreters_carrying_only_their_extractor():
    import pyarrow  # noqa: F401 - the caller holds the heavy stack; its helpers must not inherit it

    watchdog = ExtractionWatchdog()
    assert "plain useful sentence" in watchdog.extract(PAGE, "auto", 10).text
    html_pid = watchdog._helper._proc.pid
    pdf = IsolatedExtractor(memory_mb=2048)
    minimal = str(shared_path("pdf", "py-pdf-sample-files", "minimal-document.pdf"))
    assert pdf.extract(minimal, PdfOptions())["text"].startswith("Lorem ipsum")
    pdf_pid = pdf._helper._proc.pid
    for pid in (html_pid, pdf_pid):
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            assert b"curation.readers.helper_process" in fh.read()  # exec'd, not a fork of this process
        maps = mapped_libraries(pid)
        assert "pyarrow" not in maps and "onnxruntime" not in maps and "pyspark" not in maps
    assert "resiliparse" in mapped_libraries(html_pid) and "mupdf" in mapped_libraries(pdf_pid)
    assert resident_mib(html_pid) < 80 and resident_mib(pdf_pid) < 130, (resident_mib(html_pid),
                                                                         resident_mib(pdf_pid))
    watchdog._helper.close()
    pdf._helper.close()


def test_a_helper_that_dies_is_reported_with_its_exit_code_and_replaced():
    helper = Helper("tests.curation.readers.helper_handlers:exit_handler")
    assert helper.call({"exit": None}) == "alive"
    first = helper._proc.pid
    with pytest.raises(HelperDied, match="exit code 3"):
        helper.call({"exit": 3})
    assert helper.call({"exit": None}) == "alive" and helper._proc.pid != first
    with pytest.raises(HelperTimeout):
        helper.call({"sleep": 30}, 0.5)
    assert helper.call({"exit": None}) == "alive"
    helper.close()


def test_a_helper_that_cannot_start_names_itself():
    with pytest.raises(HelperDied, match="curation.no_such_module:f failed to start"):
        Helper("curation.no_such_module:f").call({})
