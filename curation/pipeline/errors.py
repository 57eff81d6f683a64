"""The two ways a run stops after its spec was accepted (a bad spec raises
:class:`curation.pipeline.spec.SpecError`)."""
from __future__ import annotations


class ReconciliationError(RuntimeError):
    """Documents were created or lost inside a stage: in != kept + rejected."""


class StageFailed(RuntimeError):
    """A stage raised; the message is one line meant for the user."""
