"""Ingest: ids unique per run. A document whose id an earlier file or input already has (JSONL, Parquet, both) is an
error row naming the first occurrence; the choice does not depend on the spec's input order or the partitioning;
without repeats the stage's output is the readers' documents."""
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curation.pipeline.runner import Runner
from curation.pipeline.spec import load_spec
from curation.pipeline.storage import read_parquet
from curation.readers.formats import reader_for
from curation.stages import ingest_ids


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def run(spark, tmp_path: Path, name: str, inputs: list[str], stages: str = "  ingest: {}\n"):
    spec = tmp_path / f"{name}.yaml"
    spec.write_text(f"out: {tmp_path / name}\ninputs:\n" + "".join(f"  - {i}\n" for i in inputs) + "stages:\n" + stages)
    return Runner(load_spec(spec), spark, log=lambda m: None).run()


def rows(folder: Path, *columns: str) -> list[tuple]:
    files = sorted(folder.glob("*.parquet"))
    if not files:
        return []
    table = pq.read_table(files)
    return sorted(zip(*(table.column(c).to_pylist() for c in columns)))


def test_two_jsonl_files_sharing_ids_keep_the_first_and_name_it_in_the_others(spark, tmp_path):
    write_jsonl(tmp_path / "in/a/part.jsonl", [{"id": f"k{i}", "text": f"a{i}"} for i in range(5)])
    write_jsonl(tmp_path / "in/b/part.jsonl", [{"id": f"k{i}", "text": f"b{i}"} for i in range(3, 8)]
                + [{"text": "no id"}])
    # b is listed first: "first" is the smallest (file, line), not the spec's order
    result = run(spark, tmp_path, "run", [f"{{format: jsonl, path: {tmp_path / 'in/b'}, source: bb}}",
                                          f"{{format: jsonl, path: {tmp_path / 'in/a'}, source: aa}}"])
    stats = result.outcomes[0].stats
    assert (stats["in"], stats["kept"], stats["rejected"]) == (11, 9, 2)
    kept = rows(tmp_path / "run/ingest", "id", "text")
    assert kept == [("bb/part.jsonl:6", "no id")] + [(f"k{i}", f"a{i}") for i in range(5)] + \
        [(f"k{i}", f"b{i}") for i in range(5, 8)]
    assert rows(tmp_path / "run/rejected/ingest", "id", "text", "reason", "stage") == [
        ("k3", "b3", "error: duplicate id 'k3' (first in aa/part.jsonl:4)", "ingest"),
        ("k4", "b4", "error: duplicate id 'k4' (first in aa/part.jsonl:5)", "ingest")]
    assert "_input" not in pq.read_schema(sorted((tmp_path / "run/ingest").glob("*.parquet"))[0]).names


def test_jsonl_and_parquet_inputs_sharing_ids(spark, tmp_path):
    """A mixed spec (written once, from a scratch copy) and a Parquet-only one (lazy: the documents stay in the
    input files, the check reads ids and row indexes); the next stage sees each id once."""
    write_jsonl(tmp_path / "in/a.jsonl", [{"id": "x", "text": "json x"}, {"id": "y", "text": "json y"}])
    pq.write_table(pa.table({"id": ["y", "z", "w"], "text": ["pq y", "pq z", "pq w"]}), tmp_path / "in/p1.parquet")
    pq.write_table(pa.table({"id": ["w", "z", "v"], "text": ["pq2 w", "pq2 z", "pq2 v"]}),
                   tmp_path / "in/p2.parquet", row_group_size=1)
    mixed = run(spark, tmp_path, "mixed", [f"{{format: jsonl, path: {tmp_path / 'in/a.jsonl'}, source: js}}",
                                           f"{{format: parquet, path: {tmp_path / 'in/p1.parquet'}, source: pq}}"])
    assert rows(tmp_path / "mixed/ingest", "id", "text") == [("w", "pq w"), ("x", "json x"), ("y", "json y"),
                                                             ("z", "pq z")]
    assert rows(tmp_path / "mixed/rejected/ingest", "id", "reason") == [
        ("y", "error: duplicate id 'y' (first in js/a.jsonl:2)")]
    assert mixed.outcomes[0].stats["reasons"] == {"error: duplicate id 'y' (first in js/a.jsonl:2)": 1}

    lazy = run(spark, tmp_path, "lazy", [f"{{format: parquet, path: '{tmp_path / 'in'}/p*.parquet', source: pq}}"],
               "  ingest: {}\n  all:\n    type: select\n    rules: [{keep_if: 'true', reason: never}]\n")
    ingest = lazy.outcomes[0].stats
    assert ingest["lazy"] is True and (ingest["in"], ingest["kept"], ingest["rejected"]) == (6, 4, 2)
    assert ingest["reasons"] == {"error: duplicate id 'w' (first in pq/p1.parquet:2)": 1,
                                 "error: duplicate id 'z' (first in pq/p1.parquet:1)": 1}
    assert rows(tmp_path / "lazy/all", "id", "text") == [("v", "pq2 v"), ("w", "pq w"), ("y", "pq y"),
                                                         ("z", "pq z")]
    assert rows(tmp_path / "lazy/rejected/ingest", "id", "text") == [("w", "pq2 w"), ("z", "pq2 z")]


def test_the_first_does_not_depend_on_input_order_or_partitioning(spark, tmp_path, monkeypatch):
    """Six files with overlapping ids: the spec's inputs reversed, one shuffle partition against seven, tiny read
    splits and shuffle joins instead of broadcasts give the same kept and rejected rows."""
    for f in range(6):
        write_jsonl(tmp_path / f"in/{'ab'[f % 2]}/f{f}.jsonl",
                    [{"id": f"k{(f * 7 + i) % 40}", "text": f"file {f} line {i}"} for i in range(25)])
    inputs = [f"{{format: jsonl, path: {tmp_path / 'in/a'}, source: aa}}",
              f"{{format: jsonl, path: {tmp_path / 'in/b'}, source: bb}}"]
    base = run(spark, tmp_path, "base", inputs)
    assert base.outcomes[0].stats["kept"] == 40 and base.outcomes[0].stats["rejected"] == 110
    conf = {"spark.sql.shuffle.partitions": "7", "spark.sql.files.maxPartitionBytes": "512",
            "spark.sql.autoBroadcastJoinThreshold": "-1"}
    old = {k: spark.conf.get(k) for k in conf}
    monkeypatch.setattr(ingest_ids, "BROADCAST_ROWS", 0)
    try:
        for k, v in conf.items():
            spark.conf.set(k, v)
        other = run(spark, tmp_path, "other", inputs[::-1])
    finally:
        for k, v in old.items():
            spark.conf.set(k, v)
    for folder, columns in (("ingest", ("id", "text")), ("rejected/ingest", ("id", "text", "reason"))):
        assert rows(tmp_path / "base" / folder, *columns) == rows(tmp_path / "other" / folder, *columns)
    kept = dict(rows(tmp_path / "base/ingest", "id", "text"))
    assert kept["k0"] == "file 0 line 0" and kept["k7"] == "file 0 line 7"  # aa/f0.jsonl sorts first
    assert kept["k39"] == "file 4 line 11"  # not in f0 or f2: in aa/f4.jsonl before bb/f1.jsonl


def test_without_repeats_the_output_is_the_readers_documents(spark, tmp_path):
    write_jsonl(tmp_path / "in/a.jsonl", [{"id": f"j{i}", "text": f"json {i}"} for i in range(4)] + [{"text": "t"}])
    (tmp_path / "in/bad.jsonl").write_text("{not json\n")
    pq.write_table(pa.table({"id": [f"p{i}" for i in range(4)], "text": [f"pq {i}" for i in range(4)]}),
                   tmp_path / "in/p.parquet")
    inputs = [f"{{format: jsonl, path: '{tmp_path / 'in'}/*.jsonl'}}",
              f"{{format: parquet, path: {tmp_path / 'in/p.parquet'}}}"]
    run(spark, tmp_path, "run", inputs)
    spec = load_spec(tmp_path / "run.yaml")
    read = [r for inp in spec.inputs for r in reader_for(inp.format)(spark, inp).collect()]
    kept = read_parquet(spark, str(tmp_path / "run/ingest")).collect()
    columns = read_parquet(spark, str(tmp_path / "run/ingest")).columns
    assert sorted(tuple(r[c] for c in columns) for r in kept) == sorted(
        tuple(r[c] for c in columns) for r in read if r["reason"] is None) and len(kept) == 9
    assert rows(tmp_path / "run/rejected/ingest", "id", "reason") == [
        ("input0/bad.jsonl:1", "error: invalid JSON: Expecting property name enclosed in double quotes")]
    lazy = run(spark, tmp_path, "lazy", inputs[1:],
               "  ingest: {}\n  all:\n    type: select\n    rules: [{keep_if: 'true', reason: never}]\n")
    assert lazy.outcomes[0].stats["lazy"] is True and lazy.outcomes[0].stats["kept"] == 4
    assert not (tmp_path / "lazy/rejected/ingest").exists()  # footers give the count: nothing written


def test_lazy_parquet_counts_the_rows_its_reader_rejects(spark, tmp_path):
    """Parquet without null texts but with a record source that cannot name a folder: the lazy stage's count (from
    the id check's pass) leaves that row out, and the next stage reconciles."""
    pq.write_table(pa.table({"id": ["a", "b", "c"], "text": ["one", "two", "three"],
                             "source": ["web", "github.com/x/y", "web"]}), tmp_path / "p.parquet")
    result = run(spark, tmp_path, "run", [f"{{format: parquet, path: {tmp_path / 'p.parquet'}}}"],
                 "  ingest: {}\n  all:\n    type: select\n    rules: [{keep_if: 'true', reason: never}]\n")
    ingest, after = (o.stats for o in result.outcomes)
    assert ingest["lazy"] is True and (ingest["kept"], ingest["rejected"], after["in"], after["kept"]) == (2, 1, 2, 2)
    assert rows(tmp_path / "run/rejected/ingest", "id") == [("b",)]
