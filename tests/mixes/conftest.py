"""Fixtures of the mixture-optimizer tests: RegMix's released swarm, read in place from ../shared/data/regmix."""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("CURATION_SHARED", REPO.parent / "shared"))
REGMIX = SHARED / "data" / "regmix"
TARGET = "metric/the_pile_pile_cc_val_loss"


@pytest.fixture(scope="session")
def regmix() -> Path:
    """The folder of RegMix's CSVs; the test is skipped when the shared data set is not beside the repo."""
    if not (REGMIX / "train_mixture_1m.csv").is_file():
        pytest.skip(f"shared data not available: {REGMIX}")
    return REGMIX
