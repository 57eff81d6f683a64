"""Ratios/metrics tables: RegMix's layout read unchanged, rows normalised, and one clear line per bad input."""
import numpy as np
import pandas as pd
import pytest

from mixes.fit import fit_tables
from mixes.tables import MixInputError, join, load_metrics, load_ratios, read_table, write_table

TARGET = "metric/the_pile_pile_cc_val_loss"


def _write(path, text):
    path.write_text(text)
    return str(path)


@pytest.fixture
def small(tmp_path):
    ratios = _write(tmp_path / "r.csv", "run,web,code,books\na,2,1,1\nb,1,1,0\nc,0,0,5\nd,1,2,1\n")
    metrics = _write(tmp_path / "m.csv", "run,eval/web/loss,eval/code/loss\nc,3.0,4.0\na,2.5,3.5\nb,2.0,3.9\n"
                                         "d,2.2,3.1\nz,9,9\n")
    return ratios, metrics


def test_regmix_tables_read_unchanged(regmix):
    w = load_ratios(regmix / "train_mixture_1m.csv")
    m = load_metrics(regmix / "train_pile_loss_1m.csv")
    assert w.shape == (512, 17) and w.index.name == "run"
    assert list(w.columns)[:2] == ["train_the_pile_arxiv", "train_the_pile_freelaw"]  # file order kept
    assert np.allclose(w.sum(axis=1), 1.0)
    assert w.index[0] == "1" and TARGET in m.columns
    X, y, spec = join(regmix / "train_mixture_1m.csv", regmix / "train_pile_loss_1m.csv", TARGET)
    assert spec == {TARGET: 1.0} and len(y) == 512 and list(y.index) == list(X.index)


def test_rows_normalised_and_joined_by_id_not_position(small):
    X, y, _ = join(*small, target="eval/web/loss")
    assert X.loc["a"].tolist() == [0.5, 0.25, 0.25]
    assert X.loc["c"].tolist() == [0.0, 0.0, 1.0]
    assert y.loc["c"] == 3.0 and y.loc["a"] == 2.5  # metrics rows are in another order, one extra run (z)


def test_objective_is_weighted_sum(small):
    _, y, spec = join(*small, targets={"eval/web/loss": 0.5, "eval/code/loss": 0.5})
    assert y.name == "objective" and spec == {"eval/web/loss": 0.5, "eval/code/loss": 0.5}
    assert y.loc["a"] == pytest.approx(3.0)


def test_parquet_and_dataframe_inputs(small, tmp_path):
    w = load_ratios(small[0])
    write_table(w, tmp_path / "r.parquet")
    back = read_table(tmp_path / "r.parquet")
    pd.testing.assert_frame_equal(back, w)
    assert load_ratios(w.reset_index()).equals(w)


def test_missing_target_names_close_matches(regmix):
    with pytest.raises(MixInputError) as e:
        join(regmix / "train_mixture_1m.csv", regmix / "train_pile_loss_1m.csv", "metric/the_pile_pilecc_val_loss")
    msg = str(e.value)
    assert "no target column 'metric/the_pile_pilecc_val_loss'" in msg and TARGET in msg and "\n" not in msg
    with pytest.raises(MixInputError, match="did you mean .*pile_cc_val_loss"):
        join(regmix / "train_mixture_1m.csv", regmix / "train_pile_loss_1m.csv", "pile_cc")


def test_metrics_missing_runs(regmix, tmp_path):
    m = pd.read_csv(regmix / "train_pile_loss_1m.csv").iloc[:500]
    m.to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(MixInputError, match=r"12 of 512 runs in the ratios have no metrics: 501, 502, 503"):
        join(regmix / "train_mixture_1m.csv", tmp_path / "m.csv", TARGET)


def test_bad_weights_and_ids(tmp_path, small):
    metrics = small[1]
    cases = {
        "run,web,code\na,0.5,x\nb,1,0\n": r"non-numeric or missing weights in code \(runs a: 'x'\)",
        "run,web,code\na,0.5,-0.1\nb,1,0\n": r"negative weights in 1 runs \(run a: code=-0.1\)",
        "run,web,code\na,0.5,0.5\na,1,0\n": r"duplicate run ids: a",
        "id,web,code\na,0.5,0.5\n": r"no run id column \(expected one named run or index\)",
        "run,web,code\na,0,0\n": r"runs whose weights are all zero: a",
    }
    for i, (text, pattern) in enumerate(cases.items()):
        path = _write(tmp_path / f"bad{i}.csv", text)
        with pytest.raises(MixInputError, match=pattern):
            load_ratios(path)
    with pytest.raises(MixInputError, match="duplicate run ids: c"):
        load_metrics(_write(tmp_path / "dm.csv", "run,loss\nc,1\nc,2\n"))
    with pytest.raises(MixInputError, match="ratios not found"):
        load_ratios(tmp_path / "nope.csv")
    with pytest.raises(MixInputError, match=r"1 runs have no numeric value for loss: b"):
        join(small[0], _write(tmp_path / "nan.csv", "run,loss\na,1\nb,\nc,2\nd,3\n"), "loss")
    assert issubclass(MixInputError, ValueError)


def test_fit_tables_rejects_too_few_runs(tmp_path):
    r = _write(tmp_path / "r.csv", "run,a,b\n1,1,0\n2,0,1\n")
    m = _write(tmp_path / "m.csv", "run,loss\n1,2\n2,3\n")
    with pytest.raises(MixInputError, match="2 runs: too few"):
        fit_tables(r, m, "loss")

