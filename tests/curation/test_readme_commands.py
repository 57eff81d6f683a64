"""The README's commands run as written on a fresh clone: every ```sh block, in order, in a `git clone` of this
repository beside the shared data (`../shared`, the path the README gives), with the project's virtualenv.

The fast test checks that every command names a real `curate` command and options, and that the shared data it
names exists at the README's path; the slow one runs them all (about ten
minutes on two cores: the demo, a dedup of the shared yardstick set and its evaluation, two classifiers, a quality
run, a proxy model)."""
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from curation.cli.app import app
from tests.paths import REPO, SHARED

SKIP = {"make test"}  # the suite itself


def readme_blocks() -> list[list[str]]:
    """The commands of each ```sh block: continuation lines joined, comments and blank lines dropped."""
    text = (REPO / "README.md").read_text()
    blocks = []
    for body in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        body = re.sub(r"\\\n\s*", " ", body)
        cmds = [re.sub(r"\s+#.*$", "", line).strip() for line in body.splitlines()]
        blocks.append([c for c in cmds if c and not c.startswith("#") and c not in SKIP])
    return blocks


def test_every_readme_command_names_real_commands_options_and_paths():
    root = typer.main.get_command(app)
    n = 0
    for block in readme_blocks():
        env: dict[str, str] = {}
        for cmd in block:
            if m := re.fullmatch(r"(\w+)=(\S+)", cmd):
                env[m.group(1)] = m.group(2)
                continue
            for k, v in env.items():
                cmd = cmd.replace(f"${k}", v)
            words = shlex.split(cmd.split("$(")[0])
            if words[0] == "make":
                assert words[1] in ("demo",), cmd
                continue
            assert words[0] in ("curate", ".venv/bin/curate"), cmd
            group, args = root, words[1:]
            while hasattr(group, "list_commands") and args and not args[0].startswith("-"):
                sub = group.get_command(typer.Context(group), args[0])
                assert sub is not None, (cmd, args[0])
                group, args = sub, args[1:]
            known = {o for p in group.params for o in [*getattr(p, "opts", []), *getattr(p, "secondary_opts", [])]}
            known.add("--help")
            for w in args:
                if w.startswith("--"):
                    assert w.split("=")[0] in known, (cmd, w)
            for w in words:  # the shared data as the README names it, from the repository root
                for path in re.findall(r"(\.\./shared/data/[^\s,=]+)", w):
                    assert (REPO / path).exists() or not SHARED.exists(), (cmd, path)
            result = CliRunner().invoke(app, [*words[1:], "--help"])
            assert result.exit_code == 0, (cmd, result.output)
            n += 1
    assert n >= 12
    assert (SHARED / "data" / "dedup_natural.jsonl.gz").exists() or not SHARED.exists()


@pytest.mark.slow
def test_readme_commands_run_as_written_on_a_fresh_clone(tmp_path):
    if not (SHARED / "data").exists():
        pytest.skip(f"shared data not available: {SHARED / 'data'}")
    clone = tmp_path / "main"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    shutil.copy(REPO / "README.md", clone / "README.md")  # the README as it is now, committed or not
    (clone / ".venv").symlink_to(REPO / ".venv")
    (tmp_path / "shared").symlink_to(SHARED)
    env = {**os.environ, "PATH": f"{REPO / '.venv' / 'bin'}:{os.environ['PATH']}"}
    for i, block in enumerate(readme_blocks()):
        # make's setup recipe would reinstall the shared virtualenv into the clone: -o keeps it as it is
        script = "\n".join(["set -euo pipefail", *[c.replace("make demo", "make -o .venv/.installed demo")
                                                   for c in block]])
        res = subprocess.run(["bash", "-c", script], cwd=clone, env=env, capture_output=True, text=True,
                             timeout=1800)
        assert res.returncode == 0, (i, block, res.stdout[-3000:], res.stderr[-3000:])
    assert (clone / "runs" / "demo" / "report.html").is_file()
    assert (clone / "runs" / "proxy" / "metrics.json").is_file()
