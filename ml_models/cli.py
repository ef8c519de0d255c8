"""The ML command line: train, evaluate and list per-asset models, with a plotted report.

    python -m ml_models.cli train --source simulated --assets BTC,ETH,SOL --horizon 1
    python -m ml_models.cli evaluate --source simulated --asset BTC --fee-bps 2
    python -m ml_models.cli list

`train` holds back the newest `--holdout` share of the bars, so `evaluate` (same source
and arguments) finds bars after the training window to test on. Progress goes to
stderr, tables to stdout. Exit codes: 0 ok, 2 bad arguments or data (the message names
the problem), 1 any other failure.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd
import xgboost

from config.loader import DEFAULT_CONFIG, ConfigError, load_config
from ml_models.data import (
    SOURCES,
    BarDataError,
    SimulationSettings,
    assets_of,
    check_assets,
    describe_source,
    load_bars,
)
from ml_models.features import DEFAULT_PARAMS
from ml_models.locations import models_directory
from ml_models.models.registry import MODEL_FILE, LoadedModel, ModelRecord, ModelRegistry
from ml_models.report import (
    POSITION_MODES,
    AssetSection,
    forward_log_returns,
    gain_importance,
    walk_forward_equity,
    write_report,
)
from ml_models.training.metrics import Scores, base_rate_scores, score_probabilities
from ml_models.training.train import SplitSettings, TrainingResult, XgbParams, labelled_rows, train_asset
from utils.clock import WALL_CLOCK

DEFAULT_SHIPPED_ASSETS = ("SPX", "NDX")
MIN_FRESH_ROWS = 20
DESCRIPTION = "Train, evaluate and list per-asset models, with a plotted report."


class UsageProblem(ValueError):
    """Arguments that cannot work together; exit code 2."""


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run one command; returns the exit code (0 ok, 2 bad arguments or data, 1 other failure)."""
    stdout, stderr = out or sys.stdout, err or sys.stderr
    parser = _parser()
    try:
        options = parser.parse_args(argv)
    except SystemExit as exit_:  # argparse has already printed its message
        return int(exit_.code) if isinstance(exit_.code, int) else 2
    try:
        command = options.command
        if command == "train":
            train_command(options, stdout, stderr)
        elif command == "evaluate":
            evaluate_command(options, stdout, stderr)
        else:
            list_command(options, stdout)
    except (BarDataError, UsageProblem, ConfigError, ValueError) as problem:
        print(f"error: {problem}", file=stderr)
        return 2
    except Exception as failure:
        print(f"failed: {type(failure).__name__}: {failure}", file=stderr)
        return 1
    return 0


# ----------------------------------------------------------------------------------------------
# train
# ----------------------------------------------------------------------------------------------
def train_command(options: argparse.Namespace, out: TextIO, err: TextIO) -> list[TrainingResult]:
    """Train each asset, save every model (promoted or not), write the report, print the table."""
    source, assets = options.source, _assets(options)
    settings = _settings(options)
    frames = load_bars(source, assets, simulation=settings, progress=_say(err))
    registry = ModelRegistry(_registry_dir(options))
    results: list[TrainingResult] = []
    rows: list[list[str]] = []
    sections: list[AssetSection] = []
    for asset in assets:
        frame = _trim(frames[asset], options.bars if source == "shipped" else None)
        training = _training_part(frame, options.holdout)
        rows_count = len(labelled_rows(training, horizon=options.horizon)[1])
        result = train_asset(
            training,
            asset=asset,
            horizon=options.horizon,
            split=_split(options, rows_count),
            xgb_params=XgbParams(n_estimators=options.trees, max_depth=options.depth),
            progress=_say(err),
        )
        record = registry.save(result, data_source=describe_source(source, asset, training, settings))
        results.append(result)
        rows.append(_training_row(record, result))
        sections.append(_training_section(record, result, frame, options.mode))
    header = ["asset", "version", "rows", "folds", "log loss", "baseline", "AUC", "promoted"]
    _print_table(out, header, rows)
    report = write_report(
        _report_dir(options),
        title=f"Training on {source} data, horizon {options.horizon}",
        table_header=header,
        table_rows=rows,
        sections=sections,
        notes=[
            f"registry: {registry.directory}",
            f"held back for evaluation: the newest {options.holdout:.0%} of the bars",
            "metrics are means over the walk-forward folds' out-of-sample rows",
            _equity_note(options.mode, 0.0),
        ],
    )
    print(f"report: {report}", file=out)
    return results


def _training_row(record: ModelRecord, result: TrainingResult) -> list[str]:
    return [
        result.asset,
        f"v{record.version}",
        str(result.rows),
        str(len(result.folds)),
        f"{result.mean_model.log_loss:.4f}",
        f"{result.mean_baseline.log_loss:.4f}",
        _number(result.mean_model.auc, 3),
        "yes" if result.promoted else "no",
    ]


def _training_section(
    record: ModelRecord, result: TrainingResult, frame: pd.DataFrame, mode: str
) -> AssetSection:
    forward = forward_log_returns(frame["close"], result.horizon)
    pieces = [forward.loc[fold.test_start : fold.test_end] for fold in result.folds]
    returns = pd.concat(pieces)
    up = np.concatenate([fold.up for fold in result.folds])
    p_up = np.concatenate([fold.p_up for fold in result.folds])
    if len(returns) != len(up):
        raise RuntimeError(f"{result.asset}: {len(returns)} bar returns for {len(up)} fold forecasts")
    return _section(
        f"{result.asset} v{record.version}",
        gain_importance(result.model, result.spec.names),
        up,
        p_up,
        returns,
        horizon=result.horizon,
        mode=mode,
        fee_bps=0.0,
    )


# ----------------------------------------------------------------------------------------------
# evaluate
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, eq=False)
class Evaluation:
    """A saved model scored on bars it was not trained on."""

    asset: str
    version: int
    times: pd.DatetimeIndex
    up: np.ndarray
    p_up: np.ndarray
    model: Scores
    baseline: Scores
    final_equity: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "asset": self.asset,
            "version": self.version,
            "rows": len(self.up),
            "first": self.times[0].isoformat(),
            "last": self.times[-1].isoformat(),
            "model": self.model.to_dict(),
            "baseline": self.baseline.to_dict(),
            "final_equity": self.final_equity,
            "times": [t.isoformat() for t in self.times],
            "up": [int(v) for v in self.up],
            "p_up": [float(v) for v in self.p_up],
        }


def evaluate_command(options: argparse.Namespace, out: TextIO, err: TextIO) -> Evaluation:
    """Score the chosen model on the bars after its training window; print and report the result."""
    asset = options.asset
    check_assets(options.source, (asset,))
    loaded = _load_model(ModelRegistry(_registry_dir(options)), asset, options.version, err)
    horizon = int(loaded.record.metadata["horizon"])
    frames = load_bars(options.source, (asset,), simulation=_settings(options), progress=_say(err))
    frame = _trim(frames[asset], options.bars if options.source == "shipped" else None)
    features, up = labelled_rows(frame, horizon=horizon)
    train_end = pd.Timestamp(loaded.record.metadata["training_window"]["end"])
    fresh = np.asarray(features.index > train_end)
    # The last training labels reach `horizon` bars past the training end: skip that many fresh
    # rows so no tested label window overlaps a trained one (the purge of walk_forward_splits).
    first_fresh = int(np.argmax(fresh)) + horizon if fresh.any() else len(fresh)
    fresh[: min(first_fresh, len(fresh))] = False
    if int(fresh.sum()) < MIN_FRESH_ROWS:
        raise UsageProblem(
            f"only {int(fresh.sum())} labelled rows after {asset} v{loaded.record.version}'s training "
            f"window (ends {train_end}); need {MIN_FRESH_ROWS}: ask the source for more bars (--bars) "
            "than training used"
        )
    p_up = loaded.predict_proba_up(features.loc[fresh])
    test_up = up[fresh]
    model_scores = score_probabilities(test_up, p_up)
    baseline = base_rate_scores(up[np.asarray(features.index <= train_end)], test_up)
    returns = forward_log_returns(frame["close"], horizon).loc[features.index[fresh]]
    section = _section(
        f"{asset} v{loaded.record.version}",
        gain_importance(loaded.classifier, loaded.spec.names),
        test_up,
        p_up,
        returns,
        horizon=horizon,
        mode=options.mode,
        fee_bps=options.fee_bps,
    )
    evaluation = Evaluation(
        asset,
        loaded.record.version,
        pd.DatetimeIndex(features.index[fresh]),
        test_up,
        p_up,
        model_scores,
        baseline,
        float(section.equity.iloc[-1]),
    )
    header = ["", "rows", "log loss", "AUC", "accuracy", "Brier", "final equity"]
    rows = [
        _score_row("model", len(test_up), model_scores, f"{evaluation.final_equity:.4f}"),
        _score_row("base rate", len(test_up), baseline, ""),
    ]
    print(f"{asset} v{loaded.record.version} on {len(test_up)} rows after its training window:", file=out)
    _print_table(out, header, rows)
    directory = _report_dir(options)
    report = write_report(
        directory,
        title=f"Evaluation of {asset} v{loaded.record.version} on {options.source} data",
        table_header=header,
        table_rows=rows,
        sections=[section],
        notes=[
            f"rows {evaluation.times[0]} .. {evaluation.times[-1]}, "
            f"after the training window ending {train_end}",
            "feature importance is the saved model's; calibration and equity are on the fresh rows",
            _equity_note(options.mode, options.fee_bps),
        ],
    )
    (directory / "evaluation.json").write_text(json.dumps(evaluation.to_dict(), indent=1, allow_nan=False))
    print(f"report: {report}", file=out)
    return evaluation


def _load_model(registry: ModelRegistry, asset: str, version: int | None, err: TextIO) -> LoadedModel:
    records = registry.list(asset)
    if not records:
        raise UsageProblem(f"no saved {asset} model in {registry.directory}; run train first")
    if version is not None:
        chosen = [r for r in records if r.version == version]
        if not chosen:
            have = ", ".join(f"v{r.version}" for r in records)
            raise UsageProblem(f"{asset} has no version {version} in {registry.directory}; it has {have}")
        record = chosen[0]
    else:
        promoted = [r for r in records if r.promoted]
        record = promoted[-1] if promoted else records[-1]
        if not promoted:
            print(f"{asset}: no promoted model; evaluating the newest, v{record.version}", file=err)
    spec = record.spec
    # The features are recomputed with today's pipeline: refuse a model trained on other ones.
    DEFAULT_PARAMS.spec.require_same(spec)
    classifier = xgboost.XGBClassifier()
    classifier.load_model(str(record.path / MODEL_FILE))
    return LoadedModel(record, spec, classifier)


def _score_row(name: str, rows: int, scores: Scores, equity: str) -> list[str]:
    return [
        name,
        str(rows),
        f"{scores.log_loss:.4f}",
        _number(scores.auc, 3),
        f"{scores.accuracy:.3f}",
        f"{scores.brier:.4f}",
        equity,
    ]


# ----------------------------------------------------------------------------------------------
# list
# ----------------------------------------------------------------------------------------------
def list_command(options: argparse.Namespace, out: TextIO) -> list[ModelRecord]:
    """Print every saved model: version, created, rows, promoted and its walk-forward metrics."""
    records = ModelRegistry(_registry_dir(options)).list(options.asset)
    header = ["asset", "version", "created", "rows", "promoted", "log loss", "baseline", "AUC", "accuracy"]
    rows = []
    for record in records:
        metadata = record.metadata
        model, baseline = metadata["mean_metrics"], metadata["baseline_metrics"]
        rows.append(
            [
                record.asset,
                f"v{record.version}",
                str(metadata["created_at"])[:19],
                str(metadata["training_window"]["rows"]),
                "yes" if record.promoted else "no",
                _number(model["log_loss"], 4),
                _number(baseline["log_loss"], 4),
                _number(model["auc"], 3),
                _number(model["accuracy"], 3),
            ]
        )
    if rows:
        _print_table(out, header, rows)
    else:
        print(f"no saved models in {_registry_dir(options)}", file=out)
    return records


# ----------------------------------------------------------------------------------------------
# shared pieces
# ----------------------------------------------------------------------------------------------
def _section(
    title: str,
    importance: dict[str, float],
    up: np.ndarray,
    p_up: np.ndarray,
    returns: pd.Series,
    *,
    horizon: int,
    mode: str,
    fee_bps: float,
) -> AssetSection:
    values = returns.to_numpy(dtype=np.float64)
    equity = walk_forward_equity(values, p_up, horizon=horizon, mode=mode, fee_bps=fee_bps)
    hold = np.exp(np.cumsum(values / horizon))
    return AssetSection(
        title=title,
        importance=importance,
        up=up,
        p_up=p_up,
        equity=pd.Series(equity, index=returns.index),
        buy_and_hold=pd.Series(hold, index=returns.index),
        equity_label=_equity_note(mode, fee_bps),
    )


def _equity_note(mode: str, fee_bps: float) -> str:
    otherwise = "flat" if mode == "long-flat" else "short"
    return f"equity: long when P(up) > 0.5, else {otherwise}; fees {fee_bps:g} bp per unit traded"


def _assets(options: argparse.Namespace) -> tuple[str, ...]:
    if options.assets is None:
        return DEFAULT_SHIPPED_ASSETS if options.source == "shipped" else assets_of(options.source)
    assets = tuple(a.strip() for a in options.assets.split(",") if a.strip())
    check_assets(options.source, assets)
    return assets


def _settings(options: argparse.Namespace) -> SimulationSettings:
    simulation = load_config(options.config).settings.simulation
    return SimulationSettings(
        bars=options.bars or SimulationSettings().bars,
        timeframe_seconds=options.timeframe,
        seed=simulation.seed if options.seed is None else options.seed,
        day_seconds=simulation.day_seconds,
    )


def _split(options: argparse.Namespace, rows: int) -> SplitSettings:
    """Walk-forward layout: `--folds` test windows over the newest half of the rows unless `--test-size`."""
    embargo = SplitSettings().embargo
    test_size = options.test_size or max(1, rows // 2 // options.folds)
    train_min = rows - options.horizon - options.folds * test_size - (options.folds - 1) * embargo
    if train_min < 50:
        raise UsageProblem(
            f"{rows} labelled rows are too few for {options.folds} folds of {test_size} rows: "
            f"fewer folds, a smaller --test-size or more --bars"
        )
    return SplitSettings(n_folds=options.folds, train_min=train_min, test_size=test_size, embargo=embargo)


def _trim(frame: pd.DataFrame, bars: int | None) -> pd.DataFrame:
    return frame if bars is None else frame.iloc[-bars:]


def _training_part(frame: pd.DataFrame, holdout: float) -> pd.DataFrame:
    keep = len(frame) - math.ceil(len(frame) * holdout)
    return frame.iloc[:keep]


def _registry_dir(options: argparse.Namespace) -> Path:
    if options.registry is not None:
        return Path(options.registry)
    return models_directory(load_config(options.config).settings.system.var_dir)


def _report_dir(options: argparse.Namespace) -> Path:
    if options.report is not None:
        return Path(options.report)
    stamp = WALL_CLOCK.now().strftime("%Y%m%dT%H%M%SZ")
    return (
        Path(load_config(options.config).settings.system.var_dir) / "reports" / f"{options.command}-{stamp}"
    )


def _say(err: TextIO) -> Callable[[str], None]:
    def say(message: str) -> None:
        print(message, file=err, flush=True)

    return say


def _number(value: float | None, digits: int) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _print_table(out: TextIO, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    for line in (header, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)), file=out)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), got {text}")
    return value


def _fee(text: str) -> float:
    value = float(text)
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a number of basis points >= 0, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml_models.cli", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--registry", help="model directory (default: <system.var_dir>/models)")
        sub.add_argument("--config", default=str(DEFAULT_CONFIG), help="settings TOML (seed, var_dir)")

    def data(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--source", choices=SOURCES, default="simulated", help="where the bars come from")
        sub.add_argument(
            "--bars",
            type=_positive_int,
            help=f"simulated: bars to generate (default {SimulationSettings().bars}); "
            "shipped: newest bars used (default all)",
        )
        sub.add_argument("--timeframe", type=_positive_int, default=300, help="simulated bar length, seconds")
        sub.add_argument("--seed", type=int, help="simulated world seed (default: the config's)")
        sub.add_argument("--report", help="report folder (default: <var_dir>/reports/<command>-<stamp>)")
        sub.add_argument("--mode", choices=POSITION_MODES, default="long-flat", help="equity positions")

    train = commands.add_parser("train", help="train, validate walk-forward, save and report")
    common(train)
    data(train)
    train.add_argument("--assets", help="comma-separated (default: BTC,ETH,SOL or SPX,NDX)")
    train.add_argument("--horizon", type=_positive_int, default=1, help="label: up over the next N bars")
    train.add_argument(
        "--holdout", type=_fraction, default=0.2, help="newest share of bars kept for evaluate"
    )
    train.add_argument("--folds", type=_positive_int, default=SplitSettings().n_folds)
    train.add_argument(
        "--test-size", type=_positive_int, help="rows per fold (default: half the rows / folds)"
    )
    train.add_argument("--trees", type=_positive_int, default=XgbParams().n_estimators)
    train.add_argument("--depth", type=_positive_int, default=XgbParams().max_depth)

    evaluate = commands.add_parser("evaluate", help="score a saved model on bars after its training window")
    common(evaluate)
    data(evaluate)
    evaluate.add_argument("--asset", required=True)
    evaluate.add_argument("--version", type=_positive_int, help="default: the newest promoted, else newest")
    evaluate.add_argument("--fee-bps", type=_fee, default=0.0, help="cost per unit of position traded")

    listing = commands.add_parser("list", help="every saved model with its metrics")
    common(listing)
    listing.add_argument("--asset", help="only this asset")
    return parser


if __name__ == "__main__":
    sys.exit(main())
