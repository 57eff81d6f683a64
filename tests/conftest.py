"""Fixtures for every test: one local Spark session for the whole run. Tests mirror the package tree
(``tests/curation/dedup/test_minhash.py`` tests ``curation/dedup/minhash/``); fixtures shared by several test
modules live in the ``conftest.py`` of their nearest common folder; paths in ``tests/paths.py``."""
import pytest


@pytest.fixture(scope="session")
def spark():
    """One local Spark session for the whole test run (start-up costs ~10 s)."""
    from curation.runtime.session import get_spark

    s = get_spark(master="local[2]", conf={"spark.sql.shuffle.partitions": "4", "spark.default.parallelism": "2"},
                  driver_memory="2g")
    yield s
    s.stop()
