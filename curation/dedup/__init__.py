"""Deduplication: exact URLs (`url`), exact text (`exact`), MinHash-LSH near duplicates (`minhash/`: pure `kernels`,
`lsh` and `decide`, Spark orchestration in `stage`), connected components on Spark (`components`), the keep policy
(`keep_policy`), evaluation against brute-force exact Jaccard (`eval`) and planted near-copies (`planted`). The stage
modules may import `pipeline` and `runtime`; `minhash.kernels`, `minhash.lsh`, `minhash.decide`, `keep_policy`,
`eval` and `planted` import no pyspark."""
