"""The ways a run stops after its spec was accepted (a bad spec raises
:class:`curation.pipeline.spec.SpecError`)."""
from __future__ import annotations


class ReconciliationError(RuntimeError):
    """Documents were created or lost inside a stage: in != kept + rejected."""


class StageFailed(RuntimeError):
    """A stage raised; the message is one line meant for the user."""


class RunLocked(StageFailed):
    """Another live run holds the run directory's lock; the message names it (pid, host, start time). A
    StageFailed, so callers that report a failed run in one line report this one too."""
