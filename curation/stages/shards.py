"""The ``shards`` stage: mix, shuffle and write tokenized documents as token shards (:mod:`curation.shards.writer`).

The stage is terminal. Its kept table is the tokenized documents that go into shards, annotated with ``split``
(``train`` or ``eval``) and ``mix_copies`` (times a training document is repeated); documents the mix does not use
are rejected (``mix: not sampled``, ``mix: source not in mix``). After the tables are written it writes, under the
stage's ``_artifacts/``:

- ``manifest.json`` + ``shard-NNNNN.bin/.idx``: the training shards, every copy of every document placed by a seeded
  hash of (document, copy index), so the bytes depend only on the documents, the mix and the seed;
- ``eval/<source>/``: the held-out documents of each source (``eval_fraction``), same format;
- ``tokenizer.json``: the tokenizer, so the directory decodes on its own;
- ``megatron/train.bin/.idx`` when ``megatron: true``;
- ``sources/<source>/`` when ``per_source_dirs: true``: each source's training documents once, unmixed, for
  trainers that sample sources themselves (mixture sweeps: ``curate train ... --source NAME=DIR``).

Params: ``tokenizer`` (the tokenize stage's tokenizer.json), ``eos_token``, ``mix`` (mix file, see
:mod:`curation.shards.mixing`; none: every document once), ``shard_tokens`` (a shard is closed once it holds at
least this many tokens; documents are never split), ``eval_fraction``, ``megatron``, ``per_source_dirs``. See
docs/shards.md.
"""
from __future__ import annotations

import os
import re
import shutil
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from curation.pipeline.stage import Stage, StageContext, StageParams, StageResult
from curation.schema import annotations_of, conform, doc_schema
from curation.shards.format import sha256_file
from curation.shards.mixing import (NOT_IN_MIX, NOT_SAMPLED, Mix, MixPlan, copy_order_keys, doc_keys, eval_mask,
                                    load_mix, plan_mix)
from curation.shards.tokenizer import TokenizerInfo, tokenizer_info
from curation.shards.writer import EVAL_DIR, MEGATRON_DIR, SOURCES_DIR, TOKENIZER_FILE, ShardDoc, write_shard_dir


class ShardParams(StageParams):
    tokenizer: str = Field(description="the tokenize stage's tokenizer.json (copied into the shard directory)")
    eos_token: str | None = Field(None, description="the end-of-document token; null: the first usual EOS name the "
                                                    "tokenizer has")
    mix: str | None = Field(None, description="a mix file (weights per source, optional token budget and repetition "
                                              "caps); null: every document once")
    shard_tokens: int = Field(50_000_000, gt=0, description="a shard is closed once it holds at least this many tokens "
                                                         "(documents are never split)")
    eval_fraction: float = Field(0.0, ge=0.0, lt=1.0, description="share of each source's documents held out as its "
                                                                  "eval split")
    megatron: bool = Field(False, description="also export the training shards as a Megatron-LM .bin/.idx pair")
    per_source_dirs: bool = Field(False, description="also write each source's training documents once, unmixed, under "
                                                     "sources/<source>/")


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


ORDERED_SCHEMA = pa.schema([("order", pa.int64()), ("source", pa.string()), ("token_bytes", pa.binary()),
                            ("n_bytes", pa.int64())])


def order_batch(batch: pa.RecordBatch, seed: int, info: TokenizerInfo) -> pa.RecordBatch:
    """Copies of documents (``source, id, tokens, text, copy``) -> shuffle key and tokens as shard bytes (pure)."""
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
    return pa.RecordBatch.from_arrays(
        [pa.array(order, pa.int64()), pa.array(sources, pa.string()), token_bytes,
         pc.binary_length(batch.column("text")).cast(pa.int64())], schema=ORDERED_SCHEMA)


def _ordered_copies(df, copies_col, seed: int, info: TokenizerInfo):
    """Every copy of every document of ``df`` as (order, source, token_bytes, n_bytes), globally sorted."""
    from pyspark.sql import functions as F

    from curation.runtime.batches import map_batches

    copies = df.select("source", "id", "tokens", "text",
                       F.posexplode(F.array_repeat(F.lit(0), copies_col.cast("int"))).alias("copy", "_"))
    ordered = map_batches(copies.drop("_"), lambda b: order_batch(b, seed, info), ORDERED_SCHEMA)
    # ties (the same source and id twice) are broken by content, so the order never depends on partitioning
    return ordered.orderBy("order", "token_bytes")


def _stream(df, dtype: np.dtype) -> Iterator[ShardDoc]:
    for row in df.toLocalIterator(prefetchPartitions=True):
        yield ShardDoc(row["source"], np.frombuffer(row["token_bytes"], dtype=dtype), int(row["n_bytes"]))


def _dir_name(source: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", source) or "_"


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
        candidates = df.select("source", "id", "n_tokens").toArrow()
        sources, ids = pc.fill_null(candidates.column("source"), "").to_pylist(), candidates.column("id").to_pylist()
        train = ~eval_mask(sources, ids, p.eval_fraction)
        plan = plan_mix(mix, [s for s, t in zip(sources, train) if t], doc_keys(sources, ids, ctx.seed)[train],
                        candidates.column("n_tokens").to_numpy()[train])
        for source, r in plan.report().items():
            ctx.log(f"  mix {source:>12}: requested {r['requested_share']:.4f}  achieved {r['achieved_share']:.4f}  "
                    f"{r['achieved_tokens']:,} tokens ({r['repetition']:.2f}x of {r['available_tokens']:,})")
        schema = mixed_schema(df.columns)
        seed, eval_fraction = ctx.seed, p.eval_fraction

        from curation.runtime.batches import map_batches

        combined = map_batches(df, lambda b: assign_batch(b, plan, seed, eval_fraction, schema), schema)
        return StageResult(combined=combined,
                           after_write=lambda kept, _rejected, artifacts: self._write(kept, artifacts, info, mix,
                                                                                       plan, seed))

    def _write_by_source(self, df, root: str, split: str, info: TokenizerInfo, seed: int) -> dict:
        """One shard directory per source under ``root`` with each of its documents once, in shuffle order."""
        from pyspark.sql import functions as F

        df = df.withColumn("source", F.coalesce("source", F.lit("")))
        written = {}
        for source in sorted(r["source"] for r in df.select("source").distinct().collect()):
            docs = _ordered_copies(df.where(F.col("source") == source), F.lit(1), seed, info)
            m = write_shard_dir(os.path.join(root, _dir_name(source)), _stream(docs, info.dtype), info,
                                self.params.shard_tokens, {"split": split, "source": source, "seed": seed})
            written[source] = {"documents": m["documents"], "tokens": m["tokens"]}
        return written

    def _write(self, kept, artifacts_dir: str, info: TokenizerInfo, mix: Mix | None, plan: MixPlan,
               seed: int) -> dict:
        from pyspark.sql import functions as F

        p = self.params
        os.makedirs(artifacts_dir, exist_ok=True)
        shutil.copyfile(p.tokenizer, os.path.join(artifacts_dir, TOKENIZER_FILE))
        mix_fields = {"spec": mix.model_dump() if mix else None, "report": plan.report()}
        train = _ordered_copies(kept.where(F.col("split") == "train"), F.col("mix_copies"), seed, info)
        manifest = write_shard_dir(artifacts_dir, _stream(train, info.dtype), info, p.shard_tokens,
                                   {"split": "train", "seed": seed, "mix": mix_fields})
        written = {s: v["tokens"] for s, v in manifest["sources"].items()}
        planned = {s: sp.achieved_tokens for s, sp in plan.sources.items() if sp.achieved_tokens}
        if written != planned:
            raise RuntimeError(f"shards hold {written} tokens per source, the mix plan {planned}")
        eval_sets = self._write_by_source(kept.where(F.col("split") == "eval"), os.path.join(artifacts_dir, EVAL_DIR),
                                          "eval", info, seed)
        if p.per_source_dirs:
            self._write_by_source(kept.where(F.col("split") == "train"), os.path.join(artifacts_dir, SOURCES_DIR),
                                  "train", info, seed)
        if p.megatron:
            from curation.shards.megatron import export_megatron

            export_megatron(artifacts_dir, os.path.join(artifacts_dir, MEGATRON_DIR, "train"))
        return {"shards": len(manifest["shards"]), "documents": manifest["documents"], "tokens": manifest["tokens"],
                "dtype": manifest["dtype"], "mix": plan.report(), "max_share_error": round(plan.max_share_error(), 6),
                "eval": eval_sets}
