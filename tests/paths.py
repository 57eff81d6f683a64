"""Where the tests find the repository and the shared data set (``../shared/data``, or ``$CURATION_SHARED/data``)."""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CURATION_SHARED", REPO.parent / "shared"))
DATA = SHARED / "data"


def shared_path(*parts: str) -> Path:
    """A path under ../shared/data; the test is skipped when the shared data set is not beside the repo."""
    p = DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared data not available: {p}")
    return p
