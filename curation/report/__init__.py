"""The run report as one self-contained HTML page with plots (``curate report RUN_DIR``; ``html.py`` renders,
``data.py`` gathers from a run directory without Spark, ``plots.py`` draws with matplotlib). May import
curation.pipeline's ledger files' layout, numpy, pyarrow and matplotlib; no Spark."""
