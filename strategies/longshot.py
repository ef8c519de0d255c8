"""Fading the favourite-longshot bias: sell YES contracts the crowd overprices at a few cents.

Becker (2026, /work/shared/reference/prediction-markets.md section 8) measured 72.1 M Kalshi
trades: contracts trading at 5 cents won 4.18 % of the time, and buying YES at 1 cent had an
expected value of -41 % (it wins 0.59 %). Makers earn their edge "by passively selling YES to
optimistic takers". A bought NO (our SELL of the YES contract, paid 1 - bid) collects that bias.

The bias curve. A market priced p pays YES with probability

    q(p) = expit(b * logit(p)),

one slope `b` through the point (0.5, 0.5): a coin flip is not biased, and a curve symmetric in
YES and NO prices the NO side of a longshot by the same rule. `b` is the least-squares fit of
logit(q) on logit(p) through the origin over the two anchors (closed form: b = sum xy / sum x^2):
(p 0.05, q 0.0418) and (p 0.01, q 0.0059), giving b = 1.1006 (1.100597). b > 1 makes q(p) < p below 0.5:
longshots win less often than their price says. The fit is deliberately the published one and
not the simulated world's own slope (1 / 0.8 = 1.25): the bot must not know the world's secret.

An entry fades one market: NO bought at 1 - bid wins with 1 - q(mid) and its edge per contract is

    edge = (1 - q(mid)) - (1 - bid) - fee(bid) = bid - q(mid) - fee(bid),

the fee being the venue's taker fee per contract at the traded YES price (Kalshi's p(1 - p) is
symmetric, so it is the NO's fee as well). Only YES priced within [min_yes_price, max_yes_price]
is faded (the anchors lie there; outside them the curve is extrapolation), and only an edge of at
least `min_edge` per contract after the fee. The position is held to settlement unless the YES
bid climbs past `exit_yes_price` (the crowd no longer calls it a longshot: the market has learned
something the curve cannot know), when it is bought back.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from scipy.special import expit, logit

from strategies.params import parse_params, require_finite

# (price, how often YES paid) from Becker (2026): 5 cents won 4.18 %; YES at 1 cent had -41 % EV
BECKER_ANCHORS: tuple[tuple[float, float], ...] = ((0.05, 0.0418), (0.01, 0.01 * (1 - 0.41)))


def fit_bias_slope(anchors: tuple[tuple[float, float], ...]) -> float:
    """The slope b of logit(q) = b logit(p) fitted to (price, win rate) anchors by least squares."""
    if not anchors:
        raise ValueError("the bias curve needs at least one (price, win rate) anchor")
    for price, won in anchors:
        if not (0 < price < 1 and 0 < won < 1):
            raise ValueError(f"anchor ({price}, {won}) must be a price and a win rate inside (0, 1)")
    x = logit(np.array([price for price, _ in anchors]))[:, None]
    y = logit(np.array([won for _, won in anchors]))
    slope, *_ = np.linalg.lstsq(x, y, rcond=None)
    return float(slope[0])


BECKER_SLOPE = fit_bias_slope(BECKER_ANCHORS)


def win_probability(price: float, slope: float = BECKER_SLOPE) -> float:
    """How often a YES priced `price` pays, by the bias curve q(p) = expit(b logit(p))."""
    if not 0 < price < 1:
        raise ValueError(f"a contract's price must be inside (0, 1), got {price}")
    return float(expit(slope * logit(price)))


@dataclass(frozen=True, slots=True)
class FadeParams:
    min_yes_price: float = 0.02
    max_yes_price: float = 0.12
    min_edge: float = 0.005  # dollars per contract, after the fee
    exit_yes_price: float = 0.30
    slope: float = BECKER_SLOPE

    def __post_init__(self) -> None:
        for name in ("min_yes_price", "max_yes_price", "exit_yes_price", "min_edge", "slope"):
            require_finite(name, getattr(self, name))
        if not 0 < self.min_yes_price <= self.max_yes_price < 0.5:
            raise ValueError(
                f"min_yes_price {self.min_yes_price} and max_yes_price {self.max_yes_price} must satisfy "
                "0 < min <= max < 0.5 (a longshot is priced under a coin flip)"
            )
        if not self.max_yes_price < self.exit_yes_price < 1:
            raise ValueError(f"exit_yes_price {self.exit_yes_price} must lie between max_yes_price and 1")
        if self.min_edge < 0:
            raise ValueError(f"min_edge must not be negative, got {self.min_edge}")
        if self.slope <= 1:
            raise ValueError(f"slope {self.slope} must exceed 1: only then are longshots overpriced")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> FadeParams:
        return parse_params(cls, values)

    def with_values(self, **changes: Any) -> FadeParams:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True, slots=True)
class Fade:
    """One priced fade: what the NO costs, how often it wins by the curve, and the edge after the fee."""

    yes_bid: Decimal
    yes_mid: float
    no_cost: Decimal  # 1 - bid
    fee: Decimal  # taker fee per contract at the traded YES price
    no_probability: float  # 1 - q(mid)
    edge: float  # no_probability - no_cost - fee


def price_fade(yes_bid: Decimal, yes_ask: Decimal, fee: Decimal, params: FadeParams) -> Fade | None:
    """The fade of a market quoted `yes_bid`/`yes_ask`, or None when its YES is no longshot here
    (mid outside [min_yes_price, max_yes_price]) or its edge after `fee` is under `min_edge`."""
    if not (0 < yes_bid < yes_ask < 1):
        raise ValueError(f"a quote needs 0 < bid < ask < 1, got {yes_bid}/{yes_ask}")
    mid = float(yes_bid + yes_ask) / 2
    if not params.min_yes_price <= mid <= params.max_yes_price:
        return None
    no_probability = 1.0 - win_probability(mid, params.slope)
    no_cost = Decimal(1) - yes_bid
    edge = no_probability - float(no_cost) - float(fee)
    if edge < params.min_edge:
        return None
    return Fade(yes_bid, mid, no_cost, fee, no_probability, edge)


def should_buy_back(yes_bid: Decimal, params: FadeParams) -> bool:
    """Whether a held fade is closed: the YES bid has climbed to `exit_yes_price` or past it."""
    return float(yes_bid) >= params.exit_yes_price
