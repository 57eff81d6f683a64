"""The ``tokenize`` stage: every document encoded with a ``tokenizer.json``, EOS appended.

Adds ``tokens`` (``list<int32>``, EOS last) and ``n_tokens`` (EOS included). Documents without text are rejected
(``tokenize: no text``). The tokenizer file is read once on the driver and broadcast, so executors need no shared
file system; each Python worker builds the tokenizer once (``worker_cached``) and encodes whole Arrow batches.

Params: ``tokenizer`` (path to tokenizer.json), ``eos_token`` (default: the first usual EOS name the tokenizer
has), ``train_vocab_size`` (when set and ``tokenizer`` does not exist yet, a byte-level BPE of that size is first
trained on up to ``train_max_bytes`` of this stage's input, in seeded-hash order of id, and saved there (only
about twice that many bytes are read on the driver, whatever the input's size); the file
then belongs to the stage: a rerun does not notice it being edited, delete it and rerun with ``--force`` to retrain).
"""
from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from curation.pipeline.stage import Stage, StageContext, StageParams, StageResult
from curation.schema import annotations_of, conform, doc_schema
from curation.shards.format import sha256_file
from curation.shards.tokenizer import (encode_texts, text_sample, token_list_array, tokenizer_from_json, tokenizer_info,
                                       train_byte_level_bpe)

NO_TEXT = "tokenize: no text"


class TokenizeParams(StageParams):
    tokenizer: str = Field(description="path of the tokenizer.json to encode with (written here when train_vocab_size "
                                       "is set and it is missing)")
    eos_token: str | None = Field(None, description="the end-of-document token; null: the first usual EOS name the "
                                                    "tokenizer has")
    train_vocab_size: int | None = Field(None, description="when set and the tokenizer file is missing: train a "
                                                           "byte-level BPE of this size on this stage's input")
    train_max_bytes: int = Field(50_000_000, description="bytes of input text the tokenizer is trained on at most")


def tokenized_schema(columns: list[str]) -> pa.Schema:
    """Output schema of the stage for an input with ``columns``: documents, annotations, tokens, ``reason``."""
    anns = [a for a in annotations_of(columns) if a not in ("n_tokens", "tokens")] + ["n_tokens", "tokens"]
    return doc_schema(anns).append(pa.field("reason", pa.string()))


def tokenize_batch(batch: pa.RecordBatch, tok, eos_id: int, schema: pa.Schema) -> pa.RecordBatch:
    """Encode a batch of documents (pure): ``tokens``/``n_tokens`` set, rows without text get a ``reason``."""
    text = batch.column("text")
    has_text = pc.is_valid(text).to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(has_text)
    ids, offsets = encode_texts(tok, text.take(pa.array(rows)).to_pylist(), eos_id)
    # every row gets a (possibly empty) list, then rows without text are nulled
    lengths = np.zeros(batch.num_rows, dtype=np.int64)
    lengths[rows] = np.diff(offsets)
    all_offsets = np.zeros(batch.num_rows + 1, dtype=np.int64)
    np.cumsum(lengths, out=all_offsets[1:])
    no_text = ~has_text
    columns = dict(zip(batch.schema.names, batch.columns))
    columns["tokens"] = token_list_array(ids, all_offsets, no_text)
    columns["n_tokens"] = pa.array(lengths, pa.int64(), mask=no_text)
    columns["reason"] = pa.array(np.where(no_text, NO_TEXT, None), pa.string())
    return conform(pa.RecordBatch.from_pydict(columns), schema)


def source_totals(df) -> dict[str, dict[str, int]]:
    """Per source: documents, tokens and UTF-8 bytes of text of a tokenized DataFrame."""
    from pyspark.sql import functions as F

    rows = (df.groupBy("source")
            .agg(F.count("*").alias("docs"), F.sum("n_tokens").alias("tokens"),
                 F.sum(F.octet_length("text")).alias("bytes"))
            .orderBy("source").collect())
    return {str(r["source"]): {"docs": int(r["docs"]), "tokens": int(r["tokens"] or 0), "bytes": int(r["bytes"] or 0)}
            for r in rows}


class TokenizeStage(Stage):
    """Adds ``tokens`` and ``n_tokens`` (EOS included) with a tokenizer.json; rejects documents without text."""

    type_name = "tokenize"
    Params = TokenizeParams

    def fingerprint_extra(self, ctx: StageContext) -> str:
        p = self.params
        if p.train_vocab_size:  # the stage owns the file: training it must not make the next run recompute
            return f"trained:{p.train_vocab_size}:{p.train_max_bytes}"
        return sha256_file(p.tokenizer) if os.path.isfile(p.tokenizer) else p.tokenizer

    def _train(self, df, ctx: StageContext) -> None:
        from pyspark.sql import functions as F

        p = self.params
        ctx.log(f"  training a byte-level BPE (vocab {p.train_vocab_size}) on up to {p.train_max_bytes:,} bytes "
                f"of input -> {p.tokenizer}")
        texts = (df.where(F.col("text").isNotNull())
                 .select("text", F.xxhash64(F.lit(ctx.seed), "id").alias("order")))
        tmp = p.tokenizer + ".tmp"
        train_byte_level_bpe(text_sample(_sample_texts(texts, p.train_max_bytes), p.train_max_bytes),
                             p.train_vocab_size, tmp)
        os.replace(tmp, p.tokenizer)

    def apply(self, df, ctx: StageContext) -> StageResult:
        p = self.params
        if not os.path.isfile(p.tokenizer) and p.train_vocab_size:
            self._train(df, ctx)
        info = tokenizer_info(p.tokenizer, p.eos_token)
        with open(p.tokenizer, "rb") as f:
            shipped = ctx.spark.sparkContext.broadcast(f.read().decode("utf-8"))
        schema = tokenized_schema(df.columns)
        eos_id, key = info.eos_id, ("tokenizer", info.sha256)

        def run(batch: pa.RecordBatch) -> pa.RecordBatch:
            from curation.runtime.batches import worker_cached

            tok = worker_cached(key, lambda: _worker_tokenizer(shipped.value))
            return tokenize_batch(batch, tok, eos_id, schema)

        from curation.runtime.batches import map_batches

        ctx.log(f"  tokenizer {os.path.basename(p.tokenizer)} sha256 {info.sha256[:12]} vocab {info.vocab_size} "
                f"eos {info.eos_token!r}={info.eos_id} -> {info.dtype.name} shards")

        def after_write(kept_df, rejected_df, artifacts_dir) -> dict:
            by_source = source_totals(kept_df)
            return {"tokenizer": info.as_dict(), "tokens": sum(v["tokens"] for v in by_source.values()),
                    "by_source": by_source}

        return StageResult(combined=map_batches(df, run, schema), after_write=after_write)


def _worker_tokenizer(json_text: str):
    # Spark already runs one task per core: the tokenizer's own thread pool would only oversubscribe them.
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    return tokenizer_from_json(json_text)


def _sample_texts(texts, max_bytes: int):
    """Texts in seeded-hash order of id, from the smallest hashes, until at least ``max_bytes`` have come: only the
    documents below a hash cut that (by the texts' total size) holds about twice that many bytes reach the driver,
    streamed a partition at a time; the cut doubles in the rare case it held too few. The texts are the leading ones
    of the whole input's hash order, as if all of it had been sorted."""
    from pyspark.sql import functions as F

    total = texts.agg(F.sum(F.octet_length("text"))).first()[0] or 0
    fraction = min(1.0, 2.0 * max_bytes / total) if total else 1.0
    seen = 0
    while True:
        cut = -(1 << 63) + int(fraction * (1 << 64))
        below = texts if fraction >= 1.0 else texts.where(F.col("order") < F.lit(cut))
        for row in below.orderBy("order", "text").toLocalIterator():
            seen += len(row["text"].encode("utf-8"))
            yield row["text"]
            if seen >= max_bytes:
                return
        if fraction >= 1.0:
            return
        fraction = min(1.0, 2 * fraction)
        texts = texts.where(F.col("order") >= F.lit(cut))  # the texts already yielded are below the old cut
