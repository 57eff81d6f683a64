"""Run pipelines from Python: a notebook, a script, a scheduler's task.

    from curation import run_pipeline

    result = run_pipeline("pipelines/dedup.yaml", ["inputs.0.path=docs.jsonl.gz", "out=runs/dedup"])
    result.ledger["documents_kept"], result.final_path()
    # re-tune a threshold: only the stages from the changed one on run again
    run_pipeline("pipelines/dedup.yaml", ["inputs.0.path=docs.jsonl.gz", "out=runs/dedup",
                                          "stages.minhash.threshold=0.7"])

Every call in a process runs in the one Spark session: the session the caller has, else the one the first call
starts with its spec's settings. After the first pipeline the JVM's classes are loaded and compiled and the Python
workers are running, so later pipelines cost what they cost in a long-lived session (a 100k-document dedup: about
half the CPU of the first run; see benchmarks/). ``curate run A.yaml B.yaml`` does the same on the command line.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

from curation.pipeline.runner import RunResult
from curation.pipeline.spec import PipelineSpec


def _resolve_spec(spec: str | Path | dict | PipelineSpec, overrides: Iterable[str]) -> PipelineSpec:
    import yaml

    from curation.pipeline.spec import dump_spec, load_spec, spec_from_mapping

    overrides = list(overrides)
    if isinstance(spec, (str, Path)):
        return load_spec(spec, overrides)
    if isinstance(spec, PipelineSpec):
        return spec_from_mapping(yaml.safe_load(dump_spec(spec)), overrides) if overrides else spec
    if isinstance(spec, dict):
        return spec_from_mapping(spec, overrides)
    raise TypeError(f"spec must be a path, a spec mapping or a PipelineSpec, not {type(spec).__name__}")


def run_pipeline(spec: str | Path | dict | PipelineSpec, overrides: Iterable[str] = (), *, spark=None,
                 force: bool = False, log: Callable[[str], None] = print, progress_every: float = 10.0) -> RunResult:
    """Run a pipeline spec in this process; its :class:`~curation.pipeline.runner.RunResult` (``out``, ``ledger``,
    ``outcomes``, ``final_path()``).

    ``spec``: a YAML file, a spec mapping (what the YAML holds) or a :class:`~curation.pipeline.spec.PipelineSpec`;
    ``overrides``: ``dotted.key=value`` assignments, as ``--set`` takes them. Inputs are checked before anything runs.
    ``spark``: the session to run in; default: the active one, else one started with the spec's ``spark`` settings.
    In a session that was already running, the spec's ``spark.conf`` holds while the pipeline runs and the previous
    values come back afterwards; a setting fixed when the session started (master, memory, static confs) is named
    through ``log`` and left as it is. Finished stages are skipped unless ``force``, as with ``curate run``.
    Raises :class:`~curation.pipeline.spec.SpecError`, :class:`~curation.pipeline.runner.StageFailed` or
    :class:`~curation.pipeline.runner.ReconciliationError`."""
    from curation.pipeline.runner import Runner
    from curation.pipeline.spec import check_inputs
    from curation.runtime.session import get_spark, session_conf

    resolved = _resolve_spec(spec, overrides)
    check_inputs(resolved)
    settings = resolved.spark
    if spark is None:
        from pyspark.sql import SparkSession

        spark = SparkSession.getActiveSession()
        if spark is None:  # started with the spec's settings, which then hold for the session's life
            spark = get_spark(master=settings.master, conf=settings.conf, driver_memory=settings.driver_memory,
                              executor_memory=settings.executor_memory)
    conf = spark.sparkContext.getConf()
    for name, key in (("master", "spark.master"), ("driver_memory", "spark.driver.memory"),
                      ("executor_memory", "spark.executor.memory")):
        wanted, running = getattr(settings, name), conf.get(key, None)
        if wanted is not None and wanted != running:
            log(f"note: spark.{name} {wanted!r} not applied (the session runs with {running!r})")
    with session_conf(spark, settings.conf, note=log):
        return Runner(resolved, spark, force=force, log=log, progress_every=progress_every).run()
