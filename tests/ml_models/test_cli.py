"""The ML command line: train saves models and writes a plotted report, list shows them, evaluate
scores fresh bars exactly as sklearn does, and bad arguments exit 2 with a message naming the problem."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import arch.data.sp500
import numpy as np
import pytest
import xgboost
from sklearn.metrics import accuracy_score, brier_score_loss, log_loss, roc_auc_score

from ml_models.cli import main
from ml_models.features import compute_features
from ml_models.report import calibration_bins, walk_forward_equity

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REPO = Path(__file__).resolve().parents[2]
TINY = ["--source", "shipped", "--bars", "600"]
TINY_TRAINING = [*TINY, "--folds", "3", "--trees", "20"]


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


def run_cli(*argv: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return Run(code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Run]:
    root = tmp_path_factory.mktemp("ml_cli")
    registry, report = root / "models", root / "report"
    run = run_cli(
        "train", *TINY_TRAINING, "--assets", "SPX", "--registry", str(registry), "--report", str(report)
    )
    return registry, report, run


@pytest.fixture(scope="module")
def evaluated(trained: tuple[Path, Path, Run], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    registry, _, _ = trained
    report = tmp_path_factory.mktemp("ml_eval") / "report"
    run = run_cli("evaluate", *TINY, "--asset", "SPX", "--registry", str(registry), "--report", str(report))
    return report, run


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert len(data) > len(PNG_SIGNATURE) and data.startswith(PNG_SIGNATURE), path


def test_train_on_shipped_data_saves_the_model_and_prints_the_table(trained: tuple[Path, Path, Run]) -> None:
    registry, _, run = trained

    assert run.code == 0, run.err
    assert (registry / "SPX" / "v000001" / "model.json").stat().st_size > 0
    metadata = json.loads((registry / "SPX" / "v000001" / "metadata.json").read_text())
    assert metadata["asset"] == "SPX" and len(metadata["folds"]) == 3
    header, row = run.out.splitlines()[:2]
    assert header.split() == [
        "asset",
        "version",
        "rows",
        "folds",
        "log",
        "loss",
        "baseline",
        "AUC",
        "promoted",
    ]
    assert row.split()[:4] == ["SPX", "v1", str(metadata["training_window"]["rows"]), "3"]


def test_train_reports_progress_per_fold_on_stderr(trained: tuple[Path, Path, Run]) -> None:
    _, _, run = trained

    lines = run.err.splitlines()
    assert [line.split(":")[0] for line in lines if line.startswith("SPX fold ")] == [
        "SPX fold 0",
        "SPX fold 1",
        "SPX fold 2",
    ]
    assert "promoted" in lines[-1].lower()


def test_train_report_embeds_valid_pngs_of_importance_calibration_and_equity(
    trained: tuple[Path, Path, Run],
) -> None:
    _, report, _ = trained

    markdown = (report / "report.md").read_text()
    for kind in ("importance", "calibration", "equity"):
        image = report / f"SPX_v1_{kind}.png"
        assert_png(image)
        assert f"]({image.name})" in markdown
    assert "| SPX | v1 |" in markdown
    assert "long when P(up) > 0.5, else flat" in markdown


def test_list_shows_the_saved_model(trained: tuple[Path, Path, Run]) -> None:
    registry, _, _ = trained

    run = run_cli("list", "--registry", str(registry))

    assert run.code == 0, run.err
    header, row = run.out.splitlines()
    assert header.split()[:5] == ["asset", "version", "created", "rows", "promoted"]
    assert row.split()[:2] == ["SPX", "v1"]


def test_evaluate_scores_equal_sklearns_on_the_same_predictions(evaluated: tuple[Path, Run]) -> None:
    report, run = evaluated
    assert run.code == 0, run.err
    result = json.loads((report / "evaluation.json").read_text())
    up, p_up = np.array(result["up"]), np.array(result["p_up"])

    assert result["model"]["log_loss"] == pytest.approx(log_loss(up, p_up, labels=[0, 1]), abs=1e-12)
    assert result["model"]["auc"] == pytest.approx(roc_auc_score(up, p_up), abs=1e-12)
    assert result["model"]["accuracy"] == pytest.approx(accuracy_score(up, p_up >= 0.5), abs=1e-12)
    assert result["model"]["brier"] == pytest.approx(brier_score_loss(up, p_up), abs=1e-12)
    assert result["baseline"]["auc"] == 0.5
    assert f"{result['model']['log_loss']:.4f}" in run.out


def test_evaluate_predicts_with_the_saved_model_on_bars_after_its_training_window(
    trained: tuple[Path, Path, Run], evaluated: tuple[Path, Run]
) -> None:
    registry, _, _ = trained
    report, _ = evaluated
    result = json.loads((report / "evaluation.json").read_text())
    metadata = json.loads((registry / "SPX" / "v000001" / "metadata.json").read_text())

    raw = arch.data.sp500.load().iloc[-600:]
    raw.index = raw.index.tz_localize("UTC")
    features = compute_features(raw).loc[result["times"]]
    model = xgboost.XGBClassifier()
    model.load_model(str(registry / "SPX" / "v000001" / "model.json"))

    assert min(result["times"]) > metadata["training_window"]["end"]
    np.testing.assert_allclose(model.predict_proba(features.to_numpy())[:, 1], result["p_up"], rtol=1e-6)
    assert_png(report / "SPX_v1_equity.png")


def test_evaluate_of_a_missing_version_exits_2_naming_it(trained: tuple[Path, Path, Run]) -> None:
    registry, _, _ = trained

    run = run_cli("evaluate", *TINY, "--asset", "SPX", "--version", "9", "--registry", str(registry))

    assert run.code == 2
    assert "no version 9" in run.err and "v1" in run.err


def test_unknown_asset_exits_2_naming_the_asset(tmp_path: Path) -> None:
    run = run_cli("train", *TINY_TRAINING, "--assets", "SPX,DOGE", "--registry", str(tmp_path))

    assert run.code == 2
    assert "DOGE" in run.err and "shipped" in run.err
    assert not (tmp_path / "SPX").exists()


def test_asset_of_another_source_exits_2(tmp_path: Path) -> None:
    run = run_cli("evaluate", "--source", "simulated", "--asset", "SPX", "--registry", str(tmp_path))

    assert run.code == 2
    assert "SPX" in run.err and "BTC, ETH, SOL" in run.err


def test_unknown_source_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["train", "--source", "yahoo"])

    assert code == 2
    assert "yahoo" in capsys.readouterr().err


def test_too_few_bars_for_the_folds_exits_2_with_advice(tmp_path: Path) -> None:
    run = run_cli(
        "train", "--source", "shipped", "--assets", "SPX", "--bars", "120", "--registry", str(tmp_path)
    )

    assert run.code == 2
    assert "too few" in run.err and "--bars" in run.err


def test_list_of_an_empty_registry_says_so(tmp_path: Path) -> None:
    run = run_cli("list", "--registry", str(tmp_path / "none"))

    assert run.code == 0
    assert "no saved models" in run.out


@pytest.mark.slow
def test_train_runs_as_a_real_subprocess(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            *(sys.executable, "-m", "ml_models.cli", "train", *TINY_TRAINING, "--assets", "NDX"),
            *("--registry", str(tmp_path / "models"), "--report", str(tmp_path / "report")),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines()[1].split()[:2] == ["NDX", "v1"]
    assert_png(tmp_path / "report" / "NDX_v1_calibration.png")
    assert (tmp_path / "models" / "NDX" / "v000001" / "metadata.json").is_file()


def test_long_flat_equity_holds_only_the_up_forecasts() -> None:
    returns = np.array([0.01, -0.02, 0.03])
    p_up = np.array([0.6, 0.4, 0.7])

    equity = walk_forward_equity(returns, p_up, horizon=1, mode="long-flat")

    np.testing.assert_allclose(equity, np.exp([0.01, 0.01, 0.04]))


def test_long_short_equity_with_fees_pays_per_unit_traded() -> None:
    returns = np.array([0.01, -0.02, 0.03])
    p_up = np.array([0.6, 0.4, 0.7])

    # positions +1, -1, +1: traded 1, 2, 2 units at 10 bp each
    equity = walk_forward_equity(returns, p_up, horizon=1, mode="long-short", fee_bps=10)

    np.testing.assert_allclose(equity, np.exp(np.cumsum([0.01 - 0.001, 0.02 - 0.002, 0.03 - 0.002])))


def test_equity_of_a_two_bar_horizon_puts_half_the_capital_on_each_forecast() -> None:
    equity = walk_forward_equity(np.array([0.02, 0.04]), np.array([0.9, 0.9]), horizon=2, mode="long-flat")

    np.testing.assert_allclose(equity, np.exp([0.01, 0.03]))


def test_calibration_bins_count_every_forecast_once() -> None:
    rng = np.random.default_rng(5)
    p_up = rng.uniform(0.4, 0.6, 500)
    up = (rng.uniform(size=500) < p_up).astype(np.int64)

    mean_p, share, counts = calibration_bins(up, p_up)

    assert counts.sum() == 500
    assert np.all(np.diff(mean_p) > 0)
    assert np.all((share >= 0) & (share <= 1))
