"""Pairing Kalshi and Polymarket markets by their terms, and refusing the pairs that are not one bet."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from bots.polymarket.matching import match_markets
from domain.contract_parsing import parse_kalshi_ticker, parse_polymarket_market
from domain.contracts import ContractSpec, Domain, Measure, Strike, StrikeType
from domain.fees import KalshiFees, PolymarketFees
from simulation.prediction_market import SimulatedPredictionMarket
from strategies.cross_venue_arbitrage import Book, best_arbitrage
from utils.clock import SimulatedClock

D = Decimal
NWS_KNYC = "NWS CLI KNYC"
GAMMA = Path(__file__).parents[1] / "domain" / "fixtures" / "gamma_market.json"


def between(floor: str, cap: str) -> Strike:
    return Strike(StrikeType.BETWEEN, D(floor), D(cap))


def kalshi(ticker: str, strike: Strike | None, source: str = NWS_KNYC) -> ContractSpec:
    return replace(parse_kalshi_ticker("kalshi", ticker, strike), resolution_source=source)


def polymarket(
    condition: str,
    strike: Strike | None,
    source: str = NWS_KNYC,
    *,
    domain: Domain = Domain.WEATHER,
    measure: Measure = Measure.DAILY_HIGH_F,
    subject: str = "NY",
    day: date | None = date(2026, 2, 9),
    period: str | None = None,
) -> ContractSpec:
    """A Polymarket token asking, unless told otherwise, for the New York high on 2026-02-09."""
    return ContractSpec(
        venue="polymarket",
        ticker=f"0x{condition * 64}:1234",
        series="highest-temperature-in-nyc-on-february-9-2026",
        event="highest-temperature-in-nyc-on-february-9-2026",
        underlying=f"0x{condition * 64}",
        domain=domain,
        measure=measure,
        subject=subject,
        day=day,
        period=period,
        strike=strike,
        title="Will the highest temperature in NYC be between 40-41°F on February 9?",
        resolution_source=source,
    )


NY_40 = kalshi("KXHIGHNY-26FEB09-B40.5", between("40", "41"))
NY_42 = kalshi("KXHIGHNY-26FEB09-B42.5", between("42", "43"))


def test_markets_pair_by_their_terms_not_by_ticker_in_kalshi_ticker_order() -> None:
    # the Polymarket tokens come in the other order and share nothing with the Kalshi tickers
    poly_42 = polymarket("a", between("42.0", "43"))  # 42.0 is 42: strikes compare by value
    poly_40 = polymarket("b", between("40", "41"))

    result = match_markets([NY_42, NY_40], [poly_42, poly_40])

    assert [(p.kalshi, p.polymarket) for p in result.pairs] == [(NY_40, poly_40), (NY_42, poly_42)]
    assert result.refused == ()


def test_a_different_strike_day_or_city_is_another_question_and_neither_paired_nor_refused() -> None:
    others = [
        polymarket("a", between("41", "42")),
        polymarket("b", between("40", "41"), day=date(2026, 2, 10)),
        polymarket("c", between("40", "41"), subject="CHI"),
        polymarket("d", Strike(StrikeType.GREATER, floor_strike=D(40))),
    ]

    result = match_markets([NY_40], others)

    assert result.pairs == () and result.refused == ()


def test_sources_that_differ_are_refused_naming_both() -> None:
    chicago = kalshi("KXHIGHCHI-26FEB09-B38.5", between("38", "39"), source="NWS CLI KMDW")
    ohare = polymarket("c", between("38", "39"), source="Weather Underground KORD", subject="CHI")

    result = match_markets([chicago], [ohare])

    assert result.pairs == ()
    [refusal] = result.refused
    assert refusal.contract == ohare
    assert "'NWS CLI KMDW'" in refusal.reason and "'Weather Underground KORD'" in refusal.reason
    assert "KXHIGHCHI-26FEB09-B38.5" in refusal.reason


def test_sources_that_differ_only_in_case_and_spacing_are_the_same_source() -> None:
    poly = polymarket("a", between("40", "41"), source="  nws   CLI knyc ")

    assert [p.polymarket for p in match_markets([NY_40], [poly]).pairs] == [poly]


def test_a_side_that_does_not_say_what_settles_it_is_refused() -> None:
    silent = polymarket("a", between("40", "41"), source="")

    [refusal] = match_markets([NY_40], [silent]).refused

    assert refusal.reason == f"{silent.ticker} does not say what settles it"
    [both_silent] = match_markets([replace(NY_40, resolution_source=" ")], [silent]).refused
    assert both_silent.reason == f"KXHIGHNY-26FEB09-B40.5 and {silent.ticker} do not say what settles it"


def test_a_polymarket_market_two_kalshi_markets_claim_is_refused_as_ambiguous() -> None:
    # the same terms listed twice on the Kalshi side (say, a series and its rename)
    twin = replace(NY_40, ticker="KXHIGHTNY-26FEB09-B40.5")
    poly = polymarket("a", between("40", "41"))

    result = match_markets([twin, NY_40], [poly])

    assert result.pairs == ()
    [refusal] = result.refused
    assert "KXHIGHNY-26FEB09-B40.5" in refusal.reason and "KXHIGHTNY-26FEB09-B40.5" in refusal.reason
    assert "ambiguous" in refusal.reason


def test_outcome_markets_pair_on_the_outcome_named_whatever_its_case() -> None:
    game = parse_kalshi_ticker("kalshi", "KXNFLGAME-25SEP07DALPHI-DAL", None, title="Dallas at Philadelphia")
    game = replace(game, resolution_source="NFL official result")
    same = polymarket(
        "a",
        None,
        "nfl official result",
        domain=game.domain,
        measure=game.measure,
        subject=game.subject,
        day=game.day,
        period=game.period,
    )
    same = replace(same, outcome=(game.outcome or "").upper())
    other_side = replace(same, ticker=f"0x{'b' * 64}:1", outcome="PHI")

    result = match_markets([game], [same, other_side])

    assert game.strike is None and game.outcome
    assert [p.polymarket for p in result.pairs] == [same]


def test_contracts_of_unknown_measure_never_pair_even_with_every_other_term_equal() -> None:
    unknown = replace(NY_40, measure=Measure.UNKNOWN)
    poly = polymarket("a", between("40", "41"), measure=Measure.UNKNOWN)

    result = match_markets([unknown], [poly])

    assert result.pairs == () and result.refused == ()


def test_markets_parsed_from_gamma_never_pair() -> None:
    gamma = [
        spec
        for market in json.loads(GAMMA.read_text())
        for spec in parse_polymarket_market("polymarket", market)
    ]
    # a Kalshi copy of each Gamma token, every term equal but the venue, ticker and a source
    copies = [
        replace(s, venue="kalshi", ticker=f"KXCOPY-{i}", resolution_source="x") for i, s in enumerate(gamma)
    ]

    result = match_markets(copies, gamma)

    assert gamma and {s.measure for s in gamma} == {Measure.UNKNOWN}
    assert result.pairs == () and result.refused == ()


def test_the_simulated_venues_pair_same_station_markets_and_refuse_chicago() -> None:
    clock = SimulatedClock(datetime(2026, 3, 2, 14, 30, tzinfo=UTC))
    venue = SimulatedPredictionMarket(clock, seed=7, days=1, polymarket=True)
    contracts = [i.contract for i in venue.instruments() if i.contract is not None]
    mirror_of = {m.contract.ticker: m.mirrors for m in venue.mirrors}

    result = match_markets(
        [c for c in contracts if c.venue == "sim-kalshi"],
        [c for c in contracts if c.venue == "sim-polymarket"],
    )

    # two days (from the day before the start) of six strikes: NY, MIA and DEN pair, CHI is refused
    assert len(result.pairs) == 2 * 3 * 6 and len(result.refused) == 2 * 6
    assert all(mirror_of[p.polymarket.ticker] == p.kalshi.ticker for p in result.pairs)
    assert {u.contract.subject for u in result.refused} == {"CHI"}
    # and the two crowds disagree enough, somewhere, to leave a sure dollar for less than a dollar
    edges = [
        best_arbitrage(
            Book(*book(venue, p.kalshi.venue, p.kalshi.ticker)),
            Book(*book(venue, p.polymarket.venue, p.polymarket.ticker)),
            KalshiFees(),
            PolymarketFees(D("0.05")),
            D(100),
        )
        for p in result.pairs
    ]
    assert any(edge is not None for edge in edges)


def book(venue: SimulatedPredictionMarket, name: str, ticker: str) -> tuple[Decimal, Decimal]:
    entry = venue.listed(f"{name}:{ticker}")
    assert entry is not None
    quote = entry.quote_at(entry.opens_at)
    assert quote is not None
    return quote
