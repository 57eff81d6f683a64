"""Token shards, with no Spark: the on-disk format (`format`), the tokenizer helpers (`tokenizer`), the mixing plan
from a mix file (`mixing`), the shard-directory writer, reader and verifier (`writer`) and the Megatron-LM export
(`megatron`). Used by the `shards` and `tokenize` stages and by `train/` (which stays Spark-free); may import
numpy, tokenizers, pydantic and `schema`, never pyspark."""
