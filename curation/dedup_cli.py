import typer

app = typer.Typer(help="Deduplication tools: evaluation against exact-Jaccard truth, planted duplicates.", no_args_is_help=True)
