"""Every `curate` command's --help reads at 80 columns: no line wider, every option name whole, no type tag on
flags; `--eval` says when it is required."""
import typer
from typer.testing import CliRunner

from curation.cli.app import app


def _commands(group, prefix: list[str]):
    ctx = typer.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        yield [*prefix, name], cmd
        if hasattr(cmd, "list_commands"):  # a sub-command group
            yield from _commands(cmd, [*prefix, name])


def test_every_help_page_fits_80_columns_with_whole_option_names():
    root = typer.main.get_command(app)
    runner = CliRunner()
    pages = 0
    for path, cmd in [([], root), *_commands(root, [])]:
        result = runner.invoke(app, [*path, "--help"], terminal_width=80)
        assert result.exit_code == 0, (path, result.output)
        out = result.output
        assert max(len(line) for line in out.splitlines()) <= 80, (path, out)
        assert "<bool>" not in out and "─" not in out, (path, out)  # plain help: no boxes, no type on flags
        for param in cmd.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--"):
                    assert opt in out, (path, opt, out)
        pages += 1
    assert pages > 30


def test_eval_is_shown_as_required_unless_eval_dir_is_given():
    for command in ("proxy", "swarm"):
        out = CliRunner().invoke(app, ["train", command, "--help"], terminal_width=80).output
        assert "Required unless --eval-dir" in " ".join(out.split())
