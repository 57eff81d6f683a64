"""`curate`, the command line: the main app (`app.py`: run, validate, stages, ledger) and its sub-command groups
(`dedup`, `tokenizer`, `sample`; `classifier` and `train` come from their packages). Commands parse options and
call the library; they hold no pipeline logic. May import anything in the project."""


def main() -> None:
    """The ``curate`` entry point (``pyproject.toml``); the app is imported on call, not with this package."""
    from curation.cli.app import main as run

    run()
