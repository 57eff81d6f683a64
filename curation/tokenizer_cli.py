import typer

app = typer.Typer(help="Train and inspect tokenizers; write and inspect token shards.", no_args_is_help=True)
