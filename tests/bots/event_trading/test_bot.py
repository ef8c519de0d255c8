"""The event-trading bot: a YES entry where two sources agree it is cheap, an exit when the edge reverses.

Real desk, real router, real consensus; the sources answer fixed probabilities and the context
fixed quotes and positions. Numbers are worked by hand in each test: with no calibration record
every source sits at the prior Brier 0.20 (weight 5), so two sources weigh half each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from bots.base import BotSpec
from bots.event_trading.bot import EventTradingBot
from bots.event_trading.consensus import ConsensusSettings
from bots.event_trading.desk import EdgeDesk
from domain.contract_parsing import parse_kalshi_ticker
from domain.contracts import ContractSpec, Domain, Strike, StrikeType
from domain.instruments import AssetClass, Instrument
from domain.market import BarSeries, Quote
from domain.positions import Position
from domain.signals import Side, Signal, SignalIntent, make_signal_id
from scrapers.base import EstimateResult, NoEstimate, SourceEstimate, SourceHealth
from scrapers.router import SourceRouter

NOW = datetime(2026, 2, 9, 15, 0, tzinfo=UTC)
VENUE = "sim-kalshi"
D = Decimal


def kalshi(ticker: str, strike: Strike | None, *, with_contract: bool = True) -> Instrument:
    return Instrument(
        symbol=ticker,
        venue=VENUE,
        asset_class=AssetClass.PREDICTION,
        tick_size=D("0.01"),
        lot_size=D(1),
        underlying=ticker.rsplit("-", 1)[0],
        min_quantity=D(1),
        contract=parse_kalshi_ticker(VENUE, ticker, strike) if with_contract else None,
    )


# Chicago's high on Feb 9 in the 38-39 °F bracket; CPI for January above 0.3 %
CHI = kalshi("KXHIGHCHI-26FEB09-B38.5", Strike(StrikeType.BETWEEN, D(38), D(39)))
CPI = kalshi("KXCPI-26JAN-T0.3", Strike(StrikeType.GREATER, floor_strike=D("0.3")))


class FixedSource:
    """A source that answers one fixed YES probability (or None: no estimate) and counts its calls."""

    def __init__(self, name: str, probability: float | None, domains: frozenset[Domain]) -> None:
        self.name = name
        self.domains = domains
        self.probability = probability
        self.calls = 0

    def health(self) -> SourceHealth:
        return SourceHealth(self.name)

    async def estimate(self, contract: ContractSpec, now: datetime) -> EstimateResult:
        self.calls += 1
        if self.probability is None:
            return NoEstimate(self.name, "no forecast for that day")
        return SourceEstimate(self.name, self.probability, now)


def weather_sources(*probabilities: float | None) -> list[FixedSource]:
    names = ["gfs_ensemble", "nws_forecast", "ecmwf"]
    both = frozenset({Domain.WEATHER, Domain.ECONOMICS})
    return [FixedSource(names[i], p, both) for i, p in enumerate(probabilities)]


class QuotedContext:
    """A BotContext with fixed quotes and positions (by instrument key)."""

    def __init__(
        self, quotes: Mapping[str, Quote] | None = None, positions: Mapping[str, Position] | None = None
    ) -> None:
        self._quotes = dict(quotes or {})
        self._positions = dict(positions or {})

    @property
    def now(self) -> datetime:
        return NOW

    @property
    def tick_time(self) -> datetime:
        return NOW

    async def bars(self, instrument: Instrument, timeframe_seconds: int, count: int) -> BarSeries | None:
        return None

    async def quote(self, instrument: Instrument) -> Quote | None:
        return self._quotes.get(instrument.key)

    def position(self, instrument: Instrument) -> Position | None:
        return self._positions.get(instrument.key)


def book(instrument: Instrument, bid: str, ask: str) -> Quote:
    return Quote(instrument.key, D(bid), D(ask), NOW, "test")


def held(instrument: Instrument, quantity: str = "10") -> Position:
    return Position("edges", instrument.key, D(quantity), D("0.20"), opened_at=NOW)


def bot(*instruments: Instrument, **params: Any) -> EventTradingBot:
    return EventTradingBot(BotSpec(name="edges", instruments=instruments or (CHI,), params=params))


def wired(sources: list[FixedSource], *instruments: Instrument, **params: Any) -> EventTradingBot:
    made = bot(*instruments, **params)
    made.attach(EdgeDesk(SourceRouter(sources), ConsensusSettings()))
    return made


def tick(made: EventTradingBot, ctx: QuotedContext) -> list[Signal]:
    return asyncio.run(made.on_tick(ctx))


# --- entries ---------------------------------------------------------------------------------------


def test_two_sources_above_the_crowd_and_an_ask_under_the_cap_signal_a_yes_entry() -> None:
    made = wired(weather_sources(0.40, 0.30))
    ctx = QuotedContext({CHI.key: book(CHI, "0.20", "0.22")})

    [entry] = tick(made, ctx)

    # prior weights 5 and 5 -> 0.5 * 0.40 + 0.5 * 0.30 = 0.35 against the mid 0.21
    assert entry.side is Side.BUY and entry.intent is SignalIntent.OPEN
    assert entry.instrument == CHI and entry.stop is None
    assert entry.confidence == pytest.approx(0.35)
    assert entry.edge == pytest.approx(0.35 - 0.22)
    assert entry.id == make_signal_id("edges", CHI.key, NOW, 0)
    evidence = entry.evidence
    assert evidence["win_probability"] == pytest.approx(0.35)
    assert evidence["estimates"] == {"gfs_ensemble": 0.40, "nws_forecast": 0.30}
    assert evidence["missing"] == {}
    assert evidence["domain"] == "weather"
    assert evidence["crowd_price"] == pytest.approx(0.21)
    assert evidence["consensus"]["side"] == "yes"
    assert evidence["consensus"]["probability"] == pytest.approx(0.35)
    assert evidence["consensus"]["weights"] == {"gfs_ensemble": 0.5, "nws_forecast": 0.5}


def test_a_source_without_an_estimate_is_listed_as_missing_and_the_other_two_still_agree() -> None:
    made = wired(weather_sources(0.40, 0.30, None))
    ctx = QuotedContext({CHI.key: book(CHI, "0.20", "0.22")})

    [entry] = tick(made, ctx)

    assert entry.evidence["missing"] == {"ecmwf": "no forecast for that day"}
    assert entry.evidence["win_probability"] == pytest.approx(0.35)


def test_an_ask_exactly_at_max_price_is_still_signalled() -> None:
    made = wired(weather_sources(0.45, 0.41), max_price=0.30)
    ctx = QuotedContext({CHI.key: book(CHI, "0.28", "0.30")})

    [entry] = tick(made, ctx)

    # (0.45 + 0.41) / 2 = 0.43; edge against the ask 0.43 - 0.30 = 0.13
    assert entry.confidence == pytest.approx(0.43) and entry.edge == pytest.approx(0.13)


def test_an_ask_above_max_price_is_not_signalled_and_the_sources_are_not_asked() -> None:
    sources = weather_sources(0.60, 0.55)
    made = wired(sources, max_price=0.30)
    ctx = QuotedContext({CHI.key: book(CHI, "0.29", "0.31")})

    assert tick(made, ctx) == []
    assert [s.calls for s in sources] == [0, 0]


def test_a_no_consensus_when_flat_buys_no_only_when_the_no_is_cheap() -> None:
    # both under the mid 0.21: the sources agree NO is cheap; NO costs 1 - 0.20 = 0.80, above the cap
    made = wired(weather_sources(0.10, 0.12))
    assert tick(made, QuotedContext({CHI.key: book(CHI, "0.20", "0.22")})) == []

    # at a YES bid of 0.80 the NO costs 0.20: sell YES (buy NO) with P(NO) = 1 - (0.60 + 0.70) / 2
    made = wired(weather_sources(0.60, 0.70))
    [entry] = tick(made, QuotedContext({CHI.key: book(CHI, "0.80", "0.82")}))
    assert entry.side is Side.SELL and entry.intent is SignalIntent.OPEN
    assert entry.evidence["contract_side"] == "no"
    assert entry.evidence["win_probability"] == pytest.approx(0.35)
    assert entry.confidence == pytest.approx(0.35) and entry.edge == pytest.approx(0.35 - 0.20)


def test_a_held_no_is_closed_when_the_consensus_turns_yes_over_the_ask_by_the_margin() -> None:
    # short 10 YES (NO held); ask 0.30: both at 0.40 -> YES consensus 0.40 >= 0.30 + 0.05: buy back
    made = wired(weather_sources(0.40, 0.40))
    ctx = QuotedContext({CHI.key: book(CHI, "0.28", "0.30")}, {CHI.key: held(CHI, "-10")})
    [exit_] = tick(made, ctx)
    assert exit_.side is Side.BUY and exit_.intent is SignalIntent.CLOSE
    # 0.34 is inside the margin: held
    made = wired(weather_sources(0.34, 0.34))
    assert tick(made, ctx) == []


def test_sources_on_both_sides_of_the_crowd_signal_nothing() -> None:
    made = wired(weather_sources(0.40, 0.15))
    ctx = QuotedContext({CHI.key: book(CHI, "0.20", "0.22")})

    assert tick(made, ctx) == []


def test_a_market_without_a_quote_is_skipped_without_asking_the_sources() -> None:
    sources = weather_sources(0.40, 0.30)
    made = wired(sources)

    assert tick(made, QuotedContext()) == []
    assert [s.calls for s in sources] == [0, 0]


def test_a_market_outside_the_bots_domains_is_skipped_without_asking_the_sources() -> None:
    sources = weather_sources(0.40, 0.30)
    made = wired(sources, CHI, CPI, domains=["economics"])
    ctx = QuotedContext({CHI.key: book(CHI, "0.20", "0.22"), CPI.key: book(CPI, "0.20", "0.22")})

    [entry] = tick(made, ctx)

    assert entry.instrument == CPI and entry.evidence["domain"] == "economics"
    assert entry.id == make_signal_id("edges", CPI.key, NOW, 1)  # its place among the bot's markets
    assert [s.calls for s in sources] == [1, 1]  # asked once, for CPI only


def test_one_source_alone_is_not_enough() -> None:
    made = wired(weather_sources(0.60))
    ctx = QuotedContext({CHI.key: book(CHI, "0.20", "0.22")})

    assert tick(made, ctx) == []


def test_two_sources_of_which_one_has_no_estimate_are_not_enough() -> None:
    made = wired(weather_sources(0.60, None))
    ctx = QuotedContext({CHI.key: book(CHI, "0.20", "0.22")})

    assert tick(made, ctx) == []


# --- held positions --------------------------------------------------------------------------------


def test_a_held_position_is_closed_when_the_consensus_is_no_and_under_the_bid_by_the_margin() -> None:
    # bid 0.30, mid 0.31; both at 0.24 -> NO consensus 0.24 <= 0.30 - 0.05 = 0.25: sell. The ask 0.32
    # is above max_price 0.30, which holds back entries but never an exit.
    made = wired(weather_sources(0.24, 0.24))
    ctx = QuotedContext({CHI.key: book(CHI, "0.30", "0.32")}, {CHI.key: held(CHI)})

    [exit_] = tick(made, ctx)

    assert exit_.side is Side.SELL and exit_.intent is SignalIntent.CLOSE
    assert exit_.confidence == 1.0 and exit_.edge == 0.0 and exit_.stop is None
    assert exit_.reason.startswith("the edge reversed: 2 sources agree on NO: 0.240")
    assert exit_.reason.endswith("bid 0.30, ask 0.32")
    assert "win_probability" not in exit_.evidence
    assert exit_.evidence["consensus"]["side"] == "no"


def test_a_no_consensus_exactly_the_margin_under_the_bid_closes_the_position() -> None:
    # 0.5 * 0.20 + 0.5 * 0.30 = 0.25, exactly 0.30 - 0.05: "at least exit_margin under the bid"
    made = wired(weather_sources(0.20, 0.30))
    ctx = QuotedContext({CHI.key: book(CHI, "0.30", "0.32")}, {CHI.key: held(CHI)})

    [exit_] = tick(made, ctx)

    assert exit_.side is Side.SELL and exit_.intent is SignalIntent.CLOSE


def test_a_no_consensus_inside_the_margin_holds_the_position() -> None:
    # both at 0.26 -> NO consensus 0.26, but only 0.04 under the bid 0.30: held to settlement
    made = wired(weather_sources(0.26, 0.26))
    ctx = QuotedContext({CHI.key: book(CHI, "0.30", "0.32")}, {CHI.key: held(CHI)})

    assert tick(made, ctx) == []


def test_a_wider_exit_margin_holds_what_the_default_would_sell() -> None:
    made = wired(weather_sources(0.24, 0.24), exit_margin=0.10)
    ctx = QuotedContext({CHI.key: book(CHI, "0.30", "0.32")}, {CHI.key: held(CHI)})

    # 0.24 > 0.30 - 0.10 = 0.20
    assert tick(made, ctx) == []


def test_a_held_position_with_the_consensus_still_yes_is_neither_closed_nor_added_to() -> None:
    made = wired(weather_sources(0.40, 0.30))
    ctx = QuotedContext({CHI.key: book(CHI, "0.20", "0.22")}, {CHI.key: held(CHI)})

    assert tick(made, ctx) == []


def test_a_held_position_with_sources_that_disagree_is_held() -> None:
    # 0.10 is far under the bid, but 0.40 is above the mid: no consensus, so no exit
    made = wired(weather_sources(0.10, 0.40))
    ctx = QuotedContext({CHI.key: book(CHI, "0.30", "0.32")}, {CHI.key: held(CHI)})

    assert tick(made, ctx) == []


def test_a_flat_position_record_counts_as_not_holding() -> None:
    made = wired(weather_sources(0.40, 0.30))
    ctx = QuotedContext({CHI.key: book(CHI, "0.20", "0.22")}, {CHI.key: held(CHI, "0")})

    [entry] = tick(made, ctx)

    assert entry.side is Side.BUY and entry.intent is SignalIntent.OPEN


# --- construction ----------------------------------------------------------------------------------


def test_the_defaults_cover_every_known_domain_with_a_30_cent_cap_and_a_5_cent_margin() -> None:
    made = bot()

    assert made.domains == frozenset({Domain.WEATHER, Domain.ECONOMICS, Domain.SPORTS, Domain.CRYPTO})
    assert made.max_price == D("0.3") and made.exit_margin == 0.05


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"domains": "weather"}, "domains must be a non-empty list"),
        ({"domains": []}, "domains must be a non-empty list"),
        ({"domains": ["weather", "politics"]}, "domains .*each must be one of"),
        ({"max_price": 0}, "max_price must be a price between 0 and 1, got 0"),
        ({"max_price": 1.0}, "max_price must be a price between 0 and 1, got 1.0"),
        ({"max_price": "0.30"}, "max_price must be a price between 0 and 1"),
        ({"exit_margin": -0.01}, "exit_margin must be between 0 and 1, got -0.01"),
        ({"exit_margin": 1}, "exit_margin must be between 0 and 1, got 1"),
        ({"max_price": True}, "max_price must be a price between 0 and 1, got True"),
        ({"min_edge": 0.05}, r"unknown parameter\(s\) min_edge \(known: domains, max_price, exit_margin\)"),
    ],
)
def test_bad_parameters_are_refused_naming_the_parameter(params: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        bot(**params)


def test_the_unknown_domain_is_refused_like_any_other_name_outside_the_list() -> None:
    # UNKNOWN routes to no source, and the error's own list of domains leaves it out
    with pytest.raises(ValueError, match="each must be one of weather, economics, sports, crypto"):
        bot(domains=["unknown"])


def test_a_boolean_exit_margin_is_refused_not_read_as_zero() -> None:
    # a TOML `exit_margin = false` is a slip, not a margin of 0 (bool is an int to Python)
    with pytest.raises(ValueError, match="exit_margin must be between 0 and 1, got False"):
        bot(exit_margin=False)


def test_an_instrument_without_contract_terms_is_refused_at_construction() -> None:
    bare = kalshi("KXHIGHNY-26FEB09-B40.5", None, with_contract=False)

    with pytest.raises(ValueError, match=r"KXHIGHNY-26FEB09-B40\.5: no contract terms"):
        bot(CHI, bare)


def test_a_tick_without_an_edge_desk_raises() -> None:
    with pytest.raises(RuntimeError, match="edges: no edge desk attached"):
        tick(bot(), QuotedContext({CHI.key: book(CHI, "0.20", "0.22")}))
