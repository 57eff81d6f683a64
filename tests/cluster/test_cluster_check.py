"""The cluster check's pieces that need no cluster: executor sizes as Spark writes them, and an unreachable master
web UI (then only the executor wait applies)."""
import pytest

from curation.runtime.cluster_check import ClusterResourcesError, _mb, standalone_workers
from tests.cluster.standalone import free_port


def test_executor_memory_sizes_read_like_spark():
    assert (_mb("6g"), _mb("512m"), _mb("2048"), _mb("1G"), _mb("1t")) == (6144, 512, 2048, 1024, 1 << 20)
    with pytest.raises(ClusterResourcesError, match="spark.executor.memory: cannot read 'lots'"):
        _mb("lots")


def test_an_unreachable_master_ui_gives_no_worker_list():
    assert standalone_workers(f"spark://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}", 1.0) is None
