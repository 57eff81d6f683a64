"""The ways a run stops after its spec was accepted (a bad spec raises
:class:`curation.pipeline.spec.SpecError`)."""
from __future__ import annotations

import re


class ReconciliationError(RuntimeError):
    """Documents were created or lost inside a stage: in != kept + rejected."""


class StageFailed(RuntimeError):
    """A stage raised; the message is one line meant for the user."""


class RunLocked(StageFailed):
    """Another live run holds the run directory's lock; the message names it (pid, host, start time). A
    StageFailed, so callers that report a failed run in one line report this one too."""


_FILE = re.compile(r"(?:reading file|in file|file) ((?:file:|[a-z][a-z0-9+.-]*://)\S+?)\.?(?=\s|$)")
_PY_EXC = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Interrupt|Exit)\b")


def describe(exc: BaseException) -> str:
    """One line naming the underlying cause of a failed stage and, when Spark names one, the file: the deepest
    ``Caused by`` of a JVM error, the last exception line of a Python worker's traceback, else the first line."""
    text = str(exc).strip() or type(exc).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    causes = [line[len("Caused by: "):] for line in lines if line.startswith("Caused by: ")]
    py_lines = [line for line in lines if _PY_EXC.match(line)]
    if lines[0].startswith("An error occurred while calling"):  # py4j: the JVM exception follows
        head = causes[-1] if causes else (lines[1].lstrip(": ") if len(lines) > 1 else lines[0])
        if "PythonException" in head and py_lines:
            head = py_lines[-1]
    elif "Traceback (most recent call last)" in text and py_lines:
        head = py_lines[-1]
    else:
        head = f"{type(exc).__name__}: {lines[0]}"
    where = _FILE.search(text)
    if where and where.group(1) not in head:
        head += f" (reading {where.group(1)})"
    return head[:400]
