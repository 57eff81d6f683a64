"""`curate train`: an unknown shard folder or a mixture weighting a source not given stops at once with one line
naming it, not a traceback after the model is built."""
import json

from typer.testing import CliRunner

from curation.cli.app import app


def test_unknown_source_folder_is_one_line(tmp_path):
    result = CliRunner().invoke(app, ["train", "proxy", "--source", f"web={tmp_path}/nope", "--eval",
                                      f"web={tmp_path}/nope"])
    assert result.exit_code == 2
    assert f"--source web={tmp_path}/nope: not a shard directory (no manifest.json)" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_mixture_naming_an_unknown_source_is_one_line(tmp_path):
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "manifest.json").write_text("{}")
    (tmp_path / "mixtures.json").write_text(json.dumps([{"web": 0.5, "code": 0.5}]))
    result = CliRunner().invoke(app, ["train", "swarm", "--source", f"web={tmp_path}/web", "--mixtures",
                                      str(tmp_path / "mixtures.json"), "--eval", f"web={tmp_path}/web"])
    assert result.exit_code == 2
    assert "mixture 0 weights code, not given as --source (sources: web)" in " ".join(result.output.split())
