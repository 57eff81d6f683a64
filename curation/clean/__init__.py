"""Pure cleaning kernels over text and Arrow batches: PII detection and masking (`pii`), benchmark n-gram
decontamination (`decontam`), line/paragraph hashing and removal for corpus-wide line dedup (`lines`), and consent
(domain/URL opt-out) and license allow-list matching (`consent`). The Spark stages that run them are in
`curation/stages/` (`pii`, `decontaminate`, `line_dedup`, `consent`). These modules import numpy, pyarrow, xxhash
and the standard library; never pyspark."""
