"""`curate stages`: every registered stage with each parameter's type, default and description, at 80 columns."""
from typer.testing import CliRunner

from curation.cli.app import app
from curation.pipeline.registry import STAGES, stage_class


def test_stages_lists_every_parameter_with_its_description():
    result = CliRunner().invoke(app, ["stages"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "PydanticUndefined" not in out and "unavailable" not in out
    assert max(len(line) for line in out.splitlines()) <= 80
    for name in STAGES:
        assert f"\n{name}\n" in f"\n{out}"
        for param, field in stage_class(name).Params.model_fields.items():
            assert field.description, f"{name}.{param} has no description"
            assert f" {param}: " in out
    # nested models: the heuristics defaults are those of the four rule sets, the select rules' fields are listed
    assert "rules.gopher_quality.min_words: int | None = 50" in out
    assert "rules[].keep_if: str (required)" in out
