"""The pipeline: spec validation (`spec`), the stage contract (`stage`) and the one stage registry (`registry`), the
run loop (`runner`) with its storage modes (`storage`), the run ledger and report (`ledger`, `report`), and
`run_pipeline` (`api`). `spec`, `stage` and `registry` import no Spark and may be imported from anywhere; the
runner may import `runtime` and, through the registry, the stages."""
