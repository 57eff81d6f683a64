"""``curate mix`` commands end to end on RegMix's CSVs (typer's CliRunner), and one error line per bad input."""
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from mixes.cli import app

TARGET = "metric/the_pile_pile_cc_val_loss"
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "80", "NO_COLOR": "1"})


def test_fit_predict_optimize_on_regmix(regmix, tmp_path):
    fit_dir = tmp_path / "fit"
    r = run("fit", "--ratios", regmix / "train_mixture_1m.csv", "--metrics", regmix / "train_pile_loss_1m.csv",
            "--target", TARGET, "--regressor", "loglinear", "--folds", "5", "--out", fit_dir)
    assert r.exit_code == 0, r.output
    assert "512 runs, 17 domains" in r.output and "loglinear" in r.output and "spearman" in r.output
    assert (fit_dir / "fit.json").is_file()

    out = tmp_path / "pred.csv"
    r = run("predict", "--fit", fit_dir, "--ratios", regmix / "test_mixture_60m.csv",
            "--metrics", regmix / "test_pile_loss_60m.csv", "--out", out)
    assert r.exit_code == 0, r.output
    p = pd.read_csv(out, dtype={"run": str})
    assert list(p.columns) == ["run", "predicted"] and len(p) == 256 and p["run"].iloc[0] == "1"
    rho = float(r.output.split("spearman ")[1].split(",")[0])
    assert rho >= 0.95
    other = tmp_path / "other.csv"
    other.write_text("run,accuracy\n1,0.5\n")
    r = run("predict", "--fit", fit_dir, "--ratios", regmix / "test_mixture_60m.csv", "--metrics", other,
            "--out", out)
    assert r.exit_code == 0 and "note: not scored: " in r.output and "no target column" in r.output

    mix = tmp_path / "mix.yaml"
    caps = ["--max-weight", "train_the_pile_pile_cc=0.5", "--max-weight", "train_the_pile_enron_emails=0.01"]
    r = run("optimize", "--fit", fit_dir, *caps, "--max-repetition", "4", "--total-tokens", "1000000",
            "--kl", "0.05", "--out", mix)
    assert r.exit_code == 0, r.output
    doc = yaml.safe_load(mix.read_text())
    assert list(doc) == ["weights", "total_tokens", "max_repetition", "provenance"]
    w = doc["weights"]
    assert len(w) == 17 and round(sum(w.values()), 10) == 1
    assert w["train_the_pile_pile_cc"] <= 0.5 and w["train_the_pile_enron_emails"] <= 0.01
    prov = doc["provenance"]
    assert prov["regressor"] == "loglinear" and prov["method"] == "exact-convex" and prov["target"] == TARGET
    assert prov["predicted"] < prov["predicted_at_prior"] and prov["cv"][0]["spearman"] > 0.9
    assert all(len(line) <= 80 for line in r.output.splitlines() if str(tmp_path) not in line), r.output
    assert "train_the_pile_pile_cc" in r.output and "exact-convex on loglinear" in r.output


def test_propose_writes_a_ratios_table(tmp_path):
    prior = tmp_path / "prior.yaml"
    prior.write_text("weights: {web: 0.6, code: 0.3, books: 0.1}\nmax_repetition: 2\n")
    out = tmp_path / "ratios.csv"
    r = run("propose", "--prior", prior, "--n", "20", "--seed", "1", "--max-weight", "books=0.05", "--out", out)
    assert r.exit_code == 0, r.output
    t = pd.read_csv(out).set_index("run")
    assert list(t.columns) == ["web", "code", "books"] and len(t) == 23
    assert list(t.index[:3]) == ["natural", "uniform", "unimax"] and (t["books"] <= 0.05).all()
    again = tmp_path / "again.csv"
    run("propose", "--prior", "web=0.6", "--prior", "code=0.3", "--prior", "books=0.1", "--n", "20", "--seed", "1",
        "--max-weight", "books=0.05", "--out", again)
    assert again.read_text() == out.read_text()


def test_auto_fit_with_an_objective_and_lightgbm_prediction(regmix, tmp_path):
    r = run("fit", "--ratios", regmix / "train_mixture_1m.csv", "--metrics", regmix / "train_pile_loss_1m.csv",
            "--target", f"{TARGET}=0.5", "--target", "metric/the_pile_github_val_loss=0.5", "--folds", "3",
            "--out", tmp_path / "fit")
    assert r.exit_code == 0, r.output
    assert "target objective" in r.output and " *" in r.output  # the chosen regressor is marked
    r = run("optimize", "--fit", tmp_path / "fit", "--candidates", "20000", "--out", tmp_path / "m.yaml")
    assert r.exit_code == 0, r.output
    assert yaml.safe_load((tmp_path / "m.yaml").read_text())["provenance"]["method"] in ("search", "exact-convex")


@pytest.mark.parametrize("args,message", [
    (["--target", "metric/pile_cc_loss"], "error: {m}: no target column 'metric/pile_cc_loss'; did you mean "),
    (["--target", TARGET, "--regressor", "gp"], "error: unknown regressor 'gp'"),
])
def test_fit_bad_input_is_one_line(regmix, tmp_path, args, message):
    metrics = regmix / "train_pile_loss_1m.csv"
    r = run("fit", "--ratios", regmix / "train_mixture_1m.csv", "--metrics", metrics, *args, "--out", tmp_path)
    assert r.exit_code == 1
    assert r.output.startswith(message.format(m=metrics)) and r.output.count("\n") == 1, r.output
    assert "Traceback" not in r.output


def test_missing_runs_and_infeasible_caps_are_one_line(regmix, tmp_path):
    short = tmp_path / "m.csv"
    pd.read_csv(regmix / "train_pile_loss_1m.csv").iloc[:-3].to_csv(short, index=False)
    r = run("fit", "--ratios", regmix / "train_mixture_1m.csv", "--metrics", short, "--target", TARGET,
            "--out", tmp_path / "f")
    assert r.exit_code == 1 and r.output.count("\n") == 1
    assert "3 of 512 runs in the ratios have no metrics: 510, 511, 512" in r.output
    r = run("propose", "--prior", "web=0.5", "--prior", "books=0.5", "--max-weight", "web=0.4",
            "--max-weight", "books=0.1", "--out", tmp_path / "r.csv")
    assert r.exit_code == 1 and r.output.count("\n") == 1
    assert "error: weights cannot meet the budget: the max weights sum to 0.5 < 1" in r.output
    r = run("predict", "--fit", tmp_path / "nowhere", "--ratios", regmix / "test_mixture_1m.csv",
            "--out", tmp_path / "p.csv")
    assert r.exit_code == 1 and "error: no fit at" in r.output
    r = run("propose", "--prior", "web=lots", "--out", tmp_path / "r.csv")
    assert r.exit_code == 1 and "error: --prior web: 'lots' is not a number" in r.output


def test_help_fits_80_columns():
    for cmd in ([], ["propose"], ["fit"], ["predict"], ["optimize"]):
        r = run(*cmd, "--help")
        assert r.exit_code == 0
        assert all(len(line) <= 80 for line in r.output.splitlines()), r.output
