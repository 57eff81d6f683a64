"""``curate tokenizer ...``: train and inspect tokenizers; decode, verify and export token shards."""
from __future__ import annotations

import json
import os
from typing import Iterator, List, Optional

import typer

app = typer.Typer(help="Train and inspect tokenizers; write and inspect token shards.", no_args_is_help=True)


def _input_files(inputs: list[str]) -> list[str]:
    """Files of the inputs; a directory holding Parquet (a stage output) contributes its Parquet files only."""
    from curation.readers.file_source import expand_inputs

    files = []
    for inp in inputs:
        found = expand_inputs(inp)
        parquet = [f for f in found if f.endswith(".parquet")]
        files += parquet if os.path.isdir(inp) and parquet else found
    return files


def _file_texts(path: str, text_field: str) -> Iterator[str]:
    from curation.readers.jsonl import jsonl_records
    from curation.readers.text import text_records

    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(columns=[text_field], batch_size=256):
            yield from (t for t in batch.column(0).to_pylist() if t)
        return
    name = path.lower()
    for suffix in (".gz", ".zst", ".zstd", ".bz2", ".xz"):
        name = name.removesuffix(suffix)
    records = (jsonl_records(path, {"text_field": text_field}) if name.endswith((".jsonl", ".json", ".ndjson"))
               else text_records(path, {}))
    yield from (r["text"] for r in records if r["reason"] is None and r["text"])


def training_texts(files: list[str], text_field: str = "text") -> Iterator[str]:
    """Texts of the files interleaved one document at a time, so a byte budget samples every input."""
    streams = [_file_texts(f, text_field) for f in files]
    while streams:
        alive = []
        for s in streams:
            text = next(s, None)
            if text is not None:
                yield text
                alive.append(s)
        streams = alive


@app.command()
def train(
    inputs: List[str] = typer.Argument(..., help="JSONL (.gz/.zst), text or Parquet files, globs, or stage output dirs"),
    out: str = typer.Option("tokenizer.json", "--out", "-o", help="where to write tokenizer.json"),
    vocab_size: int = typer.Option(8192, help="vocabulary size, EOS included (<= 65,535 gives uint16 shards)"),
    max_bytes: int = typer.Option(100_000_000, help="train on at most this many bytes of text"),
    min_frequency: int = typer.Option(2, help="minimum pair frequency for a merge"),
    text_field: str = typer.Option("text", help="text field (JSONL) or column (Parquet)"),
):
    """Train a byte-level BPE (lossless, GPT-2 style, EOS <|endoftext|>) on curated data, offline."""
    import time

    from curation.shards.tokenizer import text_sample, train_byte_level_bpe

    from curation.runtime.progress import Progress, interactive

    files = _input_files(inputs)
    start = time.time()
    with Progress("tokenizer: reading text", None, "bytes", every=5.0, bar=False) as p:
        def counted(texts):
            for text in texts:
                p.advance(len(text.encode("utf-8")))
                yield text
            typer.echo(f"  [tokenizer] {p.done:,.0f} bytes read; counting words and learning {vocab_size:,} merges",
                       err=True)

        info = train_byte_level_bpe(counted(text_sample(training_texts(files, text_field), max_bytes)), vocab_size,
                                    out, min_frequency, show_progress=interactive())
    typer.echo(f"wrote {out}: vocab {info.vocab_size}, eos {info.eos_token!r}={info.eos_id}, "
               f"sha256 {info.sha256[:16]}, {len(files)} input files, {time.time() - start:.1f} s")


@app.command()
def inspect(
    tokenizer: str = typer.Argument(..., help="tokenizer.json"),
    text: Optional[str] = typer.Option(None, help="also encode this text and show its tokens"),
    eos_token: Optional[str] = typer.Option(None, help="EOS token (default: the first usual name present)"),
):
    """Vocabulary size, EOS id, shard dtype and hash of a tokenizer; optionally how it splits a text."""
    from curation.shards.tokenizer import encode_texts, load_tokenizer, tokenizer_info

    info = tokenizer_info(tokenizer, eos_token)
    typer.echo(json.dumps({**info.as_dict(), "shard_dtype": info.dtype.name}, indent=2))
    if text is not None:
        tok = load_tokenizer(tokenizer)
        ids, _ = encode_texts(tok, [text], info.eos_id)
        typer.echo(f"{len(ids)} tokens (EOS included): {[tok.id_to_token(int(i)) for i in ids]}")


def _find_tokenizer(shard_dir: str) -> str:
    from curation.shards.writer import TOKENIZER_FILE

    d = os.path.abspath(shard_dir)
    for _ in range(3):  # the shard dir, or eval/<source>/ below it
        if os.path.isfile(os.path.join(d, TOKENIZER_FILE)):
            return os.path.join(d, TOKENIZER_FILE)
        d = os.path.dirname(d)
    raise typer.BadParameter(f"no {TOKENIZER_FILE} in or above {shard_dir}; pass --tokenizer")


@app.command()
def decode(
    shard_dir: str = typer.Argument(..., help="a shard directory (with manifest.json)"),
    first: int = typer.Option(0, help="index of the first document to print"),
    count: int = typer.Option(1, help="how many documents to print"),
    tokenizer: Optional[str] = typer.Option(None, help="tokenizer.json (default: the one beside the shards)"),
):
    """Print documents of a shard directory as text."""
    import itertools

    from curation.shards.format import read_manifest
    from curation.shards.tokenizer import decode_tokens, load_tokenizer
    from curation.shards.writer import iter_documents

    tok = load_tokenizer(tokenizer or _find_tokenizer(shard_dir))
    eos = read_manifest(shard_dir)["tokenizer"]["eos_id"]
    for i, doc in enumerate(itertools.islice(iter_documents(shard_dir), first, first + count), start=first):
        typer.echo(f"=== document {i} ({len(doc)} tokens)")
        typer.echo(decode_tokens(tok, doc, eos))


@app.command()
def verify(shard_dir: str = typer.Argument(..., help="a shard directory; its eval/ and sources/ dirs are checked too")):
    """Check checksums, index offsets, EOS after each document and token ids; exit 1 on any problem."""
    from curation.shards.format import read_manifest
    from curation.shards.writer import EVAL_DIR, SOURCES_DIR, verify_shard_dir

    dirs = [shard_dir]
    for sub in (EVAL_DIR, SOURCES_DIR):
        root = os.path.join(shard_dir, sub)
        if os.path.isdir(root):
            dirs += [os.path.join(root, d) for d in sorted(os.listdir(root))]
    failed = False
    for d in dirs:
        problems = verify_shard_dir(d)
        m = read_manifest(d)
        typer.echo(f"{d}: {len(m['shards'])} shards, {m['documents']:,} documents, {m['tokens']:,} tokens "
                   f"({m['dtype']}): {'OK' if not problems else 'FAILED'}")
        for p in problems:
            typer.echo(f"  {p}")
        failed = failed or bool(problems)
    raise typer.Exit(1 if failed else 0)


@app.command()
def megatron(
    shard_dir: str = typer.Argument(..., help="a shard directory"),
    prefix: str = typer.Argument(..., help="output prefix: writes PREFIX.bin and PREFIX.idx"),
):
    """Export shards as a Megatron-LM MMapIndexedDataset (.bin/.idx), one sequence per document."""
    from curation.shards.megatron import export_megatron

    bin_path, idx_path = export_megatron(shard_dir, prefix)
    typer.echo(f"wrote {bin_path} and {idx_path}")
