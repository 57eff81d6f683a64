"""The ``shards`` stage: mix, shuffle and write tokenized documents as token shards (:mod:`curation.shards.writer`).

The stage is terminal. Its kept table is the tokenized documents that go into shards, annotated with ``split``
(``train`` or ``eval``) and ``mix_copies`` (times a training document is repeated); documents the mix does not use
are rejected (``mix: not sampled``, ``mix: source not in mix``). After the tables are written it writes, under the
stage's ``_artifacts/``:

- ``manifest.json`` + ``shard-NNNNN.bin/.idx``: the training shards, every copy of every document placed by a seeded
  hash of (document, copy index), so the bytes depend only on the documents, the mix and the seed; the executors
  write them (:mod:`curation.shards.spark_writer`) and the mix is planned by aggregations
  (:mod:`curation.shards.mix_search`): nothing per document reaches the driver;
- ``eval/<source>/``: the held-out documents of each source (``eval_fraction``), same format;
- ``tokenizer.json``: the tokenizer, so the directory decodes on its own;
- ``megatron/shard-NNNNN.bin/.idx`` (one Megatron pair per training shard) when ``megatron: true``;
- ``sources/<source>/`` when ``per_source_dirs: true``: each source's whole training pool once, unmixed (documents
  the mix did not sample and sources it does not weight included), for trainers that sample sources themselves and
  the mixture optimizer (``curate train ... --source NAME=DIR``).

Manifests count tokens per source and per ``license`` (the documents' column; ``unknown`` without it).

Params: ``tokenizer`` (the tokenize stage's tokenizer.json), ``eos_token``, ``mix`` (mix file, see
:mod:`curation.shards.mixing`; none: every document once), ``shard_tokens`` (a document goes into
shard ``p // shard_tokens`` of its first token's position ``p``; documents are never split), ``eval_fraction``, ``megatron``, ``per_source_dirs``. See
docs/shards.md.
"""
from __future__ import annotations

import os
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash
from pydantic import Field

from curation.pipeline.stage import Stage, StageContext, StageParams, StageResult
from curation.schema import annotations_of, conform, doc_schema
from curation.shards.format import sha256_file
from curation.shards.mixing import (NOT_IN_MIX, NOT_SAMPLED, Mix, MixPlan, copy_order_keys, doc_keys, eval_mask,
                                    load_mix)
from curation.shards.mix_search import plan_mix_spark, signed_keys
from curation.shards.tokenizer import TokenizerInfo, tokenizer_info
from curation.shards.writer import EVAL_DIR, MEGATRON_DIR, SOURCES_DIR, TOKENIZER_FILE


class ShardParams(StageParams):
    tokenizer: str = Field(description="the tokenize stage's tokenizer.json (copied into the shard directory)")
    eos_token: str | None = Field(None, description="the end-of-document token; null: the first usual EOS name the "
                                                    "tokenizer has")
    mix: str | None = Field(None, description="a mix file (weights per source, optional token budget and repetition "
                                              "caps); null: every document once")
    shard_tokens: int = Field(50_000_000, gt=0, description="shard size: a document goes into the shard of its first "
                                                         "token's position // shard_tokens (never split)")
    eval_fraction: float = Field(0.0, ge=0.0, lt=1.0, description="share of each source's documents held out as its "
                                                                  "eval split")
    megatron: bool = Field(False, description="also write each training shard as a Megatron-LM .bin/.idx pair")
    per_source_dirs: bool = Field(False, description="also write each source's whole training pool once, unmixed, "
                                                     "under sources/<source>/")


def mixed_schema(columns: list[str]) -> pa.Schema:
    anns = [a for a in annotations_of(columns) if a not in ("split", "mix_copies")] + ["split", "mix_copies"]
    return doc_schema(anns).append(pa.field("reason", pa.string()))


def _sources(batch: pa.RecordBatch) -> list[str]:
    return pc.fill_null(batch.column("source"), "").to_pylist()


def assign_batch(batch: pa.RecordBatch, plan: MixPlan, seed: int, eval_fraction: float,
                 schema: pa.Schema) -> pa.RecordBatch:
    """Annotate a batch of tokenized documents (pure): ``split``, ``mix_copies`` and the rejection ``reason``."""
    sources, ids = _sources(batch), batch.column("id").to_pylist()
    held_out = eval_mask(sources, ids, eval_fraction)
    copies = np.where(held_out, 0, plan.copies(sources, doc_keys(sources, ids, seed)))
    in_mix = np.isin(np.asarray(sources, dtype=object), list(plan.sources))
    reason = np.where(held_out | (copies > 0), None, np.where(in_mix, NOT_SAMPLED, NOT_IN_MIX))
    columns = dict(zip(batch.schema.names, batch.columns))
    columns["split"] = pa.array(np.where(held_out, "eval", "train"), pa.string())
    columns["mix_copies"] = pa.array(copies, pa.int64())
    columns["reason"] = pa.array(reason, pa.string())
    return conform(pa.RecordBatch.from_pydict(columns), schema)


ORDERED_SCHEMA = pa.schema([("dir", pa.string()), ("order", pa.int64()), ("h", pa.int64()), ("source", pa.string()),
                            ("license", pa.string()), ("n_bytes", pa.int64()), ("token_bytes", pa.binary())])


def order_batch(batch: pa.RecordBatch, seed: int, info: TokenizerInfo) -> pa.RecordBatch:
    """Copies of documents (``source, id, tokens, text, copy``; optional ``dir``: "" and ``license``: unknown) ->
    shuffle key (order, then a hash of
    the tokens: the same source and id twice is ordered by content) and tokens as shard bytes (pure)."""
    sources, ids = _sources(batch), batch.column("id").to_pylist()
    order = copy_order_keys(doc_keys(sources, ids, seed), batch.column("copy").to_numpy())
    tokens = batch.column("tokens")
    values = tokens.flatten().to_numpy()
    if len(values) and int(values.max()) >= info.vocab_size:
        raise ValueError(f"token id {int(values.max())} is outside the vocabulary of the shards' tokenizer "
                         f"({info.vocab_size}): were the documents tokenized with another tokenizer?")
    dtype = info.dtype
    lengths = pc.list_value_length(tokens).to_numpy(zero_copy_only=False).astype(np.int64)
    byte_offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths * dtype.itemsize, out=byte_offsets[1:])
    token_bytes = pa.BinaryArray.from_buffers(pa.binary(), len(lengths),
                                             [None, pa.py_buffer(byte_offsets), pa.py_buffer(values.astype(dtype))])
    h = np.fromiter((xxhash.xxh64_intdigest(t) for t in token_bytes.to_pylist()), np.uint64, len(lengths))
    names = batch.schema.names
    dirs = batch.column("dir") if "dir" in names else pa.array([""] * batch.num_rows, pa.string())
    licenses = batch.column("license") if "license" in names else pa.nulls(batch.num_rows, pa.string())
    return pa.RecordBatch.from_arrays(
        [dirs, pa.array(order, pa.int64()), pa.array(h.view(np.int64)), pa.array(sources, pa.string()),
         pc.fill_null(licenses.cast(pa.string()), UNKNOWN_LICENSE),
         pc.binary_length(batch.column("text")).cast(pa.int64()), token_bytes], schema=ORDERED_SCHEMA)


UNKNOWN_LICENSE = "unknown"  # documents without a ``license`` column or value
KEYS_SCHEMA = pa.schema([("source", pa.string()), ("key", pa.int64()), ("n_tokens", pa.int64())])


def keys_batch(batch: pa.RecordBatch, seed: int, eval_fraction: float) -> pa.RecordBatch:
    """(source, id, n_tokens) -> the training candidates' seeded keys for mix planning (pure)."""
    sources, ids = _sources(batch), batch.column("id").to_pylist()
    train = ~eval_mask(sources, ids, eval_fraction)
    return pa.RecordBatch.from_arrays(
        [pa.array(sources, pa.string()).filter(train), pa.array(signed_keys(doc_keys(sources, ids, seed))[train]),
         batch.column("n_tokens").cast(pa.int64()).filter(pa.array(train))], schema=KEYS_SCHEMA)


class ShardStage(Stage):
    """Mixes, shuffles and writes the tokenized documents as token shards (terminal); rejects what the mix leaves."""

    type_name = "shards"
    Params = ShardParams

    def fingerprint_extra(self, ctx: StageContext) -> str:
        p = self.params
        parts = [sha256_file(p.tokenizer) if os.path.isfile(p.tokenizer) else p.tokenizer]
        if p.mix:
            parts.append(sha256_file(p.mix) if os.path.isfile(p.mix) else p.mix)
        return "|".join(parts)

    def apply(self, df, ctx: StageContext) -> StageResult:
        p = self.params
        if "tokens" not in df.columns:
            raise ValueError("the shards stage needs tokenized documents: put a tokenize stage before it")
        info = tokenizer_info(p.tokenizer, p.eos_token)
        mix = load_mix(p.mix) if p.mix else None
        from curation.runtime.batches import map_batches

        seed, eval_fraction = ctx.seed, p.eval_fraction
        plan = plan_mix_spark(mix, map_batches(df.select("source", "id", "n_tokens"),
                                               lambda b: keys_batch(b, seed, eval_fraction), KEYS_SCHEMA))
        for source, r in plan.report().items():
            ctx.log(f"  mix {source:>12}: requested {r['requested_share']:.4f}  achieved {r['achieved_share']:.4f}  "
                    f"{r['achieved_tokens']:,} tokens ({r['repetition']:.2f}x of {r['available_tokens']:,})")
        schema = mixed_schema(df.columns)
        combined = map_batches(df, lambda b: assign_batch(b, plan, seed, eval_fraction, schema), schema)
        return StageResult(combined=combined,
                           after_write=lambda _kept, _rejected, artifacts: self._write(combined, artifacts, info,
                                                                                        mix, plan, seed))

    def _copies(self, combined, seed: int, info: TokenizerInfo):
        """Every copy of every document for every directory: the training shards (``mix_copies`` times), the eval
        split of each source and, with ``per_source_dirs``, each source's whole training pool once."""
        from pyspark.sql import functions as F

        from curation.runtime.batches import map_batches

        source = F.coalesce("source", F.lit(""))
        name = F.regexp_replace(source, "[^A-Za-z0-9._-]+", "_")
        name = F.when(name == "", F.lit("_")).otherwise(name)
        train = F.col("split") == "train"
        main = F.when(train & (F.col("mix_copies") > 0),
                      F.transform(F.sequence(F.lit(0), F.col("mix_copies").cast("int") - 1),
                                  lambda i: F.struct(F.lit("").alias("dir"), i.alias("copy"))))
        single = [F.when(F.col("split") == "eval", F.array(F.struct(F.concat(F.lit(EVAL_DIR + "/"), name).alias("dir"),
                                                                  F.lit(0).alias("copy"))))]
        if self.params.per_source_dirs:
            single.append(F.when(train, F.array(F.struct(F.concat(F.lit(SOURCES_DIR + "/"), name).alias("dir"),
                                                         F.lit(0).alias("copy")))))
        empty = F.array().cast("array<struct<dir:string,copy:int>>")
        targets = F.concat(*[F.coalesce(c, empty) for c in [main, *single]])
        license_col = F.col("license").cast("string") if "license" in combined.columns else F.lit(None).cast("string")
        copies = (combined.select(source.alias("source"), "id", "tokens", "text", license_col.alias("license"),
                                  F.explode(targets).alias("t"))
                  .select(F.col("t.dir").alias("dir"), "source", "id", "license", "tokens", "text",
                          F.col("t.copy").alias("copy")))
        return map_batches(copies, lambda b: order_batch(b, seed, info), ORDERED_SCHEMA)

    def _write(self, combined, artifacts_dir: str, info: TokenizerInfo, mix: Mix | None, plan: MixPlan,
               seed: int) -> dict:
        from curation.shards.spark_writer import write_shard_dirs

        p = self.params
        local = artifacts_dir.split("file:", 1)[-1] if artifacts_dir.startswith("file:") else artifacts_dir
        if "://" not in local:
            os.makedirs(local, exist_ok=True)
            shutil.copyfile(p.tokenizer, os.path.join(local, TOKENIZER_FILE))
        else:
            from curation.shards.part_writer import _open

            with _open(f"{artifacts_dir.rstrip('/')}/{TOKENIZER_FILE}") as out, open(p.tokenizer, "rb") as f:
                out.write(f.read())
        mix_fields = {"spec": mix.model_dump() if mix else None, "report": plan.report()}

        def fields(d: str, sources: list[str]) -> dict:
            if d == "":
                return {"split": "train", "seed": seed, "mix": mix_fields}
            return {"split": "eval" if d.startswith(EVAL_DIR + "/") else "train", "source": ",".join(sources),
                    "seed": seed}

        manifests = write_shard_dirs(self._copies(combined, seed, info), artifacts_dir, info, p.shard_tokens,
                                     MEGATRON_DIR if p.megatron else None, fields)
        manifest = manifests.get("") or {"shards": [], "documents": 0, "tokens": 0, "dtype": info.dtype.name,
                                         "sources": {}, "licenses": {}}
        written = {s: v["tokens"] for s, v in manifest["sources"].items()}
        planned = {s: sp.achieved_tokens for s, sp in plan.sources.items() if sp.achieved_tokens}
        if written != planned:
            raise RuntimeError(f"shards hold {written} tokens per source, the mix plan {planned}")
        eval_sets = {m["source"]: {"documents": m["documents"], "tokens": m["tokens"]}
                     for d, m in sorted(manifests.items()) if d.startswith(EVAL_DIR + "/")}
        return {"shards": len(manifest["shards"]), "documents": manifest["documents"], "tokens": manifest["tokens"],
                "dtype": manifest["dtype"], "mix": plan.report(), "max_share_error": round(plan.max_share_error(), 6),
                "eval": eval_sets, "tokens_by_source": written,
                "tokens_by_license": {k: v["tokens"] for k, v in manifest["licenses"].items()}}
