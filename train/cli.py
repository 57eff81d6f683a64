import typer

app = typer.Typer(help="Train proxy language models (one, or a swarm at once).", no_args_is_help=True)
