import typer

app = typer.Typer(help="Train, evaluate and inspect quality and topic classifiers.", no_args_is_help=True)
