"""Measurement: does the consensus of the domain sources beat the crowd's price?

Plays simulated worlds (`simulation.prediction_world`: four cities' daily-high ladders for a
year and ten years of CPI months per seed) through the consensus engine with calibration
learned as markets settle (`simulation.prediction_sources.replay_scores`), and prints per seed
and domain (weather: the GFS-like ensemble and the NWS-like forecast; economics: the nowcast
and the CPI base rate) the Brier score of the consensus and of the crowd's mid over the same
markets, how many edges
the sources agreed on, how many the edge gate traded after Kalshi's fee and the spread, and
the P&L per contract. A reliability diagram of the last seed is saved as a PNG.

    .venv/bin/python benchmarks/prediction_brier.py [--days 365] [--seeds 3] [--plot FILE]
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulation.prediction_sources import WorldForecasts, replay_scores  # noqa: E402
from simulation.prediction_world import SimulatedMarket, cpi_months, weather_days  # noqa: E402


def reliability_plot(markets: list[SimulatedMarket], world: WorldForecasts, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = []
    for market in markets:
        estimates = [p for p in (world.gfs(market.contract), world.nws(market.contract)) if p is not None]
        if estimates:
            rows.append((sum(estimates) / len(estimates), market.crowd_price, float(market.outcome_yes)))
    data = np.array(rows)
    bins = np.linspace(0, 1, 11)
    figure, axis = plt.subplots(figsize=(6, 6))
    for column, label in ((0, "sources (mean)"), (1, "crowd mid")):
        which = np.clip(np.digitize(data[:, column], bins) - 1, 0, 9)
        centres = [data[which == b, column].mean() for b in range(10) if (which == b).sum() >= 20]
        rates = [data[which == b, 2].mean() for b in range(10) if (which == b).sum() >= 20]
        axis.plot(centres, rates, marker="o", label=label)
    axis.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    axis.set_xlabel("predicted probability of YES")
    axis.set_ylabel("observed frequency of YES")
    axis.set_title("Simulated weather markets: reliability")
    axis.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100, bbox_inches="tight")
    print(f"reliability diagram: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--plot", type=Path, default=ROOT / "var" / "reports" / "prediction_reliability.png")
    args = parser.parse_args()
    print(
        f"{'seed':>4} {'domain':>9} {'markets':>8} {'Brier consensus':>16} {'Brier crowd':>12} "
        f"{'edges':>6} {'trades':>7} {'P&L/contract':>13} {'ROI':>7}"
    )
    for seed in range(1, args.seeds + 1):
        weather = list(weather_days(date(2026, 1, 1), args.days, seed))
        cpi = list(cpi_months(2016, 1, 120, seed + 1000))
        world = WorldForecasts(weather, cpi)
        # calibration is kept per domain, as the daemon keeps it
        domains = {
            "weather": (
                [e.markets for e in weather],
                {"sim_gfs_ensemble": world.gfs, "sim_nws_forecast": world.nws},
            ),
            "economics": (
                [e.markets for e in cpi],
                {"sim_cleveland_fed": world.cleveland, "sim_cpi_base_rate": world.cpi_base_rate},
            ),
        }
        for domain, (events, forecasts) in domains.items():
            scores = replay_scores(events, forecasts)
            print(
                f"{seed:>4} {domain:>9} {scores.markets:>8} {scores.brier_consensus:>16.4f} "
                f"{scores.brier_crowd:>12.4f} {scores.edges:>6} {scores.trades:>7} "
                f"{scores.pnl_per_contract:>13.2f} {scores.roi:>7.1%}",
                flush=True,
            )
        if seed == args.seeds:
            reliability_plot([m for e in weather for m in e.markets], world, args.plot)


if __name__ == "__main__":
    main()
