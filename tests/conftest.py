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


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for the whole test run (start-up costs ~10 s)."""
    from curation.runtime.session import get_spark

    s = get_spark(master="local[2]", conf={"spark.sql.shuffle.partitions": "4", "spark.default.parallelism": "2"},
                  driver_memory="2g")
    yield s
    s.stop()
