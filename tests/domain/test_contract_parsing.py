"""Kalshi tickers and markets, and Polymarket markets, read into ContractSpecs.

Fixtures (tests/domain/fixtures/), all in the wire formats of prediction-markets.md:
- `kalshi_market_transition.json`: era (a), Jan 29 - Mar 12 2026, the verbatim capture of
  KXHIGHCHI-26JAN23-T5 from §1.3 (`GET /markets?limit=1&series_ticker=KXHIGHCHI`).
- `kalshi_market_current.json`: era (b), after 2026-03-12, a `GET /markets` page with the
  fields §1.3 lists as required for the kalshi-python-sync 3.34 `Market` model; a Chicago
  bracket and its top tail (the ladder shape of §1.2) and the KXCPI-26AUG-T0.3 threshold of
  §1.11. Prices, sizes and times are invented.
- `gamma_market.json`: a Gamma `GET /markets` answer in the §2.3 shape (the fields of the
  NautilusTrader `gamma_market_live.json`); id 559652 and its prices come from §2.3, the
  questions, slugs, condition and full token ids are invented (the reference truncates them).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.contract_parsing import (
    ContractMismatch,
    KalshiTicker,
    MalformedSymbol,
    StrikeKind,
    parse_date_token,
    parse_kalshi_market,
    parse_kalshi_ticker,
    parse_polymarket_market,
    period_year_month,
    polymarket_domain,
    split_kalshi_ticker,
)
from domain.contracts import ContractSpec, Domain, Measure, Strike, StrikeType

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def current_markets() -> dict[str, dict[str, Any]]:
    return {market["ticker"]: market for market in fixture("kalshi_market_current.json")["markets"]}


def gamma_markets() -> list[dict[str, Any]]:
    markets: list[dict[str, Any]] = fixture("gamma_market.json")
    return markets


def above(floor: str) -> Strike:
    return Strike(StrikeType.GREATER, floor_strike=Decimal(floor))


def below(cap: str) -> Strike:
    return Strike(StrikeType.LESS, cap_strike=Decimal(cap))


def between(floor: str, cap: str) -> Strike:
    return Strike(StrikeType.BETWEEN, floor_strike=Decimal(floor), cap_strike=Decimal(cap))


# -- Kalshi market objects ----------------------------------------------------------------------------------


def test_current_era_weather_bracket_reads_its_strike_from_the_fields() -> None:
    spec = parse_kalshi_market("kalshi", current_markets()["KXHIGHCHI-26APR09-B58.5"])
    assert spec == ContractSpec(
        venue="kalshi",
        ticker="KXHIGHCHI-26APR09-B58.5",
        series="KXHIGHCHI",
        event="KXHIGHCHI-26APR09",
        underlying="KXHIGHCHI-26APR09",
        domain=Domain.WEATHER,
        measure=Measure.DAILY_HIGH_F,
        subject="CHI",
        day=date(2026, 4, 9),
        period=None,
        strike=between("58", "59"),
        outcome=None,
        title="Will the high temp in Chicago be 58-59° on Apr 9, 2026?",
    )
    assert spec.strike is not None
    assert spec.strike.pays_yes(Decimal(58)) and spec.strike.pays_yes(Decimal(59))  # inclusive both ends
    assert not spec.strike.pays_yes(Decimal(60))


def test_current_era_top_tail_is_a_greater_threshold() -> None:
    spec = parse_kalshi_market("kalshi", current_markets()["KXHIGHCHI-26APR09-T61"])
    assert spec.strike == above("61")
    assert (spec.event, spec.day, spec.outcome) == ("KXHIGHCHI-26APR09", date(2026, 4, 9), None)


def test_current_era_cpi_threshold_is_a_monthly_economic_contract() -> None:
    spec = parse_kalshi_market("kalshi", current_markets()["KXCPI-26AUG-T0.3"])
    assert (spec.domain, spec.measure, spec.subject) == (Domain.ECONOMICS, Measure.CPI_MOM_PCT, "CPI")
    assert (spec.day, spec.period) == (None, "26AUG")
    assert spec.strike == above("0.3")
    assert spec.title == "Will CPI rise more than 0.3% in August 2026?"


def test_transition_era_capture_t5_is_a_less_tail_despite_its_t() -> None:
    (market,) = fixture("kalshi_market_transition.json")["markets"]
    spec = parse_kalshi_market("kalshi", market)
    assert spec.strike == below("5")
    assert (spec.ticker, spec.event, spec.day, spec.subject) == (
        "KXHIGHCHI-26JAN23-T5",
        "KXHIGHCHI-26JAN23",
        date(2026, 1, 23),
        "CHI",
    )
    assert spec.title == "Will the high temp in Chicago be <5° on Jan 23, 2026?"


def test_strike_fields_may_arrive_as_strings() -> None:
    market = current_markets()["KXHIGHCHI-26APR09-B58.5"] | {"floor_strike": "58.00", "cap_strike": "59.00"}
    assert parse_kalshi_market("kalshi", market).strike == between("58", "59")


def test_crypto_bracket_midpoint_may_differ_by_the_half_cent() -> None:
    # §1.2: B75750 is 75,700-75,799.99, whose midpoint 75749.995 the ticker rounds to 75750
    market = {
        "ticker": "KXBTC-26APR0501-B75750",
        "event_ticker": "KXBTC-26APR0501",
        "strike_type": "between",
        "floor_strike": 75700,
        "cap_strike": 75799.99,
    }
    spec = parse_kalshi_market("kalshi", market)
    assert spec.strike == between("75700", "75799.99")
    assert (spec.domain, spec.measure, spec.subject) == (Domain.CRYPTO, Measure.CRYPTO_PRICE, "BTC")
    assert (spec.day, spec.period) == (date(2026, 4, 5), "26APR0501")


def test_parsing_a_ticker_with_separate_strike_fields_matches_the_market_object() -> None:
    market = current_markets()["KXHIGHCHI-26APR09-T61"]
    from_ticker = parse_kalshi_ticker("kalshi", market["ticker"], above("61"), title=market["title"])
    assert from_ticker == parse_kalshi_market("kalshi", market)


# -- contradictions between the ticker and the fields -------------------------------------------------------


@pytest.mark.parametrize(
    ("ticker", "strike", "named"),
    [
        ("KXHIGHCHI-26APR09-B58.5", above("58"), "strike_type greater"),  # bracket token, threshold fields
        ("KXHIGHCHI-26APR09-B58.5", between("60", "61"), "midpoint 60.5"),  # bracket elsewhere
        ("KXHIGHCHI-26APR09-B59", between("58", "59"), "midpoint 58.5"),  # no half-degree allowance
        ("KXHIGHCHI-26APR09-T61", above("60"), "floor_strike 60"),  # threshold whose floor differs
        ("KXHIGHCHI-26JAN23-T5", below("4"), "cap_strike 4"),  # less tail whose cap differs
        ("KXHIGHCHI-26APR09-T61", between("61", "62"), "strike_type between"),
        ("KXHIGHCHI-26APR09-T61", None, "no strike_type"),
        ("KXBTC-26APR0501-B75751", between("75700", "75799.99"), "midpoint 75749.995"),
    ],
)
def test_strike_fields_that_contradict_the_ticker_are_refused_naming_both_sides(
    ticker: str, strike: Strike | None, named: str
) -> None:
    with pytest.raises(ContractMismatch, match=re.escape(ticker)) as caught:
        parse_kalshi_ticker("kalshi", ticker, strike)
    assert named in str(caught.value)
    assert "the ticker says" in str(caught.value)


def test_market_with_a_bracket_token_and_greater_fields_is_refused() -> None:
    market = current_markets()["KXHIGHCHI-26APR09-B58.5"] | {"strike_type": "greater", "cap_strike": None}
    with pytest.raises(ContractMismatch, match=re.escape("KXHIGHCHI-26APR09-B58.5")):
        parse_kalshi_market("kalshi", market)


def test_market_whose_event_ticker_is_not_its_tickers_event_is_refused() -> None:
    market = current_markets()["KXHIGHCHI-26APR09-T61"] | {"event_ticker": "KXHIGHCHI-26APR10"}
    with pytest.raises(ContractMismatch) as caught:
        parse_kalshi_market("kalshi", market)
    assert "KXHIGHCHI-26APR09-T61" in str(caught.value)
    assert "event KXHIGHCHI-26APR09" in str(caught.value)
    assert "event_ticker KXHIGHCHI-26APR10" in str(caught.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ticker": None}, "ticker"),
        ({"event_ticker": None}, "event_ticker"),
        ({"floor_strike": "fifty-eight"}, "floor_strike"),
        ({"floor_strike": True}, "floor_strike"),
        ({"floor_strike": 60}, "floor_strike 60 above cap_strike 59"),
    ],
)
def test_unreadable_market_fields_are_refused_naming_the_field(change: dict[str, Any], message: str) -> None:
    market = current_markets()["KXHIGHCHI-26APR09-B58.5"] | change
    with pytest.raises(ValueError, match=message):
        parse_kalshi_market("kalshi", market)


# -- markets without a B or T token -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "outcome"),
    [("H25", "hike 25"), ("C25", "cut 25"), ("C50", "cut 50"), ("H0", "hold")],
)
def test_fed_decision_tokens_name_an_outcome_and_no_strike(token: str, outcome: str) -> None:
    spec = parse_kalshi_market(
        "kalshi", {"ticker": f"KXFEDDECISION-27APR-{token}", "event_ticker": "KXFEDDECISION-27APR"}
    )
    assert (spec.outcome, spec.strike) == (outcome, None)
    assert (spec.domain, spec.measure, spec.subject) == (Domain.ECONOMICS, Measure.FED_DECISION, "FED")
    assert (spec.day, spec.period) == (None, "27APR")


def test_fed_decision_strike_fields_are_not_read_from_the_market() -> None:
    market = {
        "ticker": "KXFEDDECISION-27APR-H25",
        "event_ticker": "KXFEDDECISION-27APR",
        "strike_type": "greater",
        "floor_strike": 0,
    }
    assert parse_kalshi_market("kalshi", market).strike is None


def test_fed_decision_given_strike_fields_is_refused() -> None:
    with pytest.raises(ContractMismatch, match="hike 25"):
        parse_kalshi_ticker("kalshi", "KXFEDDECISION-27APR-H25", above("0"))


def test_g_token_keeps_its_token_and_reads_strike_fields_when_present() -> None:
    with_fields = parse_kalshi_market(
        "kalshi",
        {"ticker": "KXHIGHCHI-26FEB09-G100", "event_ticker": "KXHIGHCHI-26FEB09", "strike_type": "greater"}
        | {"floor_strike": 100},
    )
    assert (with_fields.outcome, with_fields.strike) == ("G100", above("100"))
    without = parse_kalshi_market(
        "kalshi",
        {"ticker": "KXHIGHCHI-26FEB09-G100", "event_ticker": "KXHIGHCHI-26FEB09", "strike_type": "custom"},
    )
    assert (without.outcome, without.strike) == ("G100", None)


def test_plain_number_token_is_kept_as_the_outcome() -> None:
    spec = parse_kalshi_ticker("kalshi", "KXHIGHCHI-26FEB09-38.5", None)
    assert (spec.outcome, spec.strike, spec.event) == ("38.5", None, "KXHIGHCHI-26FEB09")


def test_game_market_names_the_teams_and_the_winner() -> None:
    # the KXNFLGAME ticker form is UNVERIFIED: date, then the teams, then the side the market pays on
    spec = parse_kalshi_ticker("kalshi", "KXNFLGAME-25SEP07DALPHI-DAL", None, title="Dallas at Philadelphia")
    assert (spec.domain, spec.measure) == (Domain.SPORTS, Measure.GAME_WINNER)
    assert (spec.subject, spec.outcome, spec.day) == ("DALPHI", "DAL", date(2025, 9, 7))
    assert spec.period == "25SEP07DALPHI"


# -- series -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ticker", "strike", "domain", "measure", "subject"),
    [
        ("KXHIGHCHI-26FEB09-B38.5", between("38", "39"), Domain.WEATHER, Measure.DAILY_HIGH_F, "CHI"),
        ("KXHIGHNY-26JUL09-T96", above("96"), Domain.WEATHER, Measure.DAILY_HIGH_F, "NY"),
        ("KXHIGHTDC-26JUL09-T96", above("96"), Domain.WEATHER, Measure.DAILY_HIGH_F, "DC"),
        ("KXHIGHTBOS-26JUL09-T96", above("96"), Domain.WEATHER, Measure.DAILY_HIGH_F, "BOS"),
        ("KXLOWTNYC-26JAN23-T20", below("20"), Domain.WEATHER, Measure.DAILY_LOW_F, "NYC"),
        ("KXCPI-26AUG-T0.3", above("0.3"), Domain.ECONOMICS, Measure.CPI_MOM_PCT, "CPI"),
        ("KXCPIYOY-26JUN-T3.9", above("3.9"), Domain.ECONOMICS, Measure.CPI_YOY_PCT, "CPI"),
        ("KXGDP-26JUL30-T2.0", above("2.0"), Domain.ECONOMICS, Measure.GDP_QOQ_SAAR_PCT, "GDP"),
        ("KXFED-27APR-T4.25", above("4.25"), Domain.ECONOMICS, Measure.FED_FUNDS_UPPER_PCT, "FED"),
        ("KXFEDDECISION-27APR-C25", None, Domain.ECONOMICS, Measure.FED_DECISION, "FED"),
        ("KXBTC-26APR0501-B75750", between("75700", "75799.99"), Domain.CRYPTO, Measure.CRYPTO_PRICE, "BTC"),
        ("KXETH-26APR0501-T3000", above("3000"), Domain.CRYPTO, Measure.CRYPTO_PRICE, "ETH"),
        ("KXNBAGAME-26JAN15-BOS", None, Domain.SPORTS, Measure.GAME_WINNER, "NBA"),
        ("KXMLBGAME-26JUL04-NYY", None, Domain.SPORTS, Measure.GAME_WINNER, "MLB"),
    ],
)
def test_each_series_family_routes_to_its_domain_and_measure(
    ticker: str, strike: Strike | None, domain: Domain, measure: Measure, subject: str
) -> None:
    spec = parse_kalshi_ticker("kalshi", ticker, strike)
    assert (spec.domain, spec.measure, spec.subject) == (domain, measure, subject)


def test_unknown_series_is_unknown_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="domain.contract_parsing")
    first = parse_kalshi_ticker("kalshi", "KXNEVERSEENSERIESONE-26FEB09-T40", above("40"))
    second = parse_kalshi_ticker("kalshi", "KXNEVERSEENSERIESONE-26FEB10-T41", above("41"))
    assert (first.domain, first.measure, second.domain) == (Domain.UNKNOWN, Measure.UNKNOWN, Domain.UNKNOWN)
    lines = [record for record in caplog.records if "KXNEVERSEENSERIESONE" in record.getMessage()]
    assert len(lines) == 1


def test_splitting_a_ticker_never_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="domain.contract_parsing")
    split_kalshi_ticker("KXNEVERSEENSERIESTWO-26FEB09-T40")
    assert caplog.records == []


# -- ticker grammar and date tokens -------------------------------------------------------------------------


def test_kalshi_ticker_splits_into_series_event_date_and_token() -> None:
    parsed = split_kalshi_ticker("KXBTC-26APR0501-B75750")
    assert parsed == KalshiTicker(
        ticker="KXBTC-26APR0501-B75750",
        series="KXBTC",
        event="KXBTC-26APR0501",
        date=parse_date_token("26APR0501"),
        token="B75750",
        strike_kind=StrikeKind.BRACKET,
        strike_value=Decimal("75750"),
    )
    threshold = split_kalshi_ticker("KXCPI-26AUG-T0.3")
    assert (threshold.strike_kind, threshold.strike_value) == (StrikeKind.THRESHOLD, Decimal("0.3"))
    assert split_kalshi_ticker("KXFEDDECISION-27APR-C25").strike_kind is StrikeKind.CUT
    assert split_kalshi_ticker("KXNFLGAME-25SEP07DALPHI-DAL").strike_kind is StrikeKind.NAMED


def test_day_token_is_the_observation_day() -> None:
    token = parse_date_token("26FEB09")
    assert (token.day, token.hour, token.is_day) == (date(2026, 2, 9), None, True)


def test_month_token_is_a_period_with_its_year_and_month() -> None:
    token = parse_date_token("26AUG")
    assert (token.day, token.is_day) == (None, False)
    assert period_year_month("26AUG") == (2026, 8)
    assert period_year_month("27APR") == (2027, 4)


def test_hourly_token_gives_the_day_and_keeps_the_hour_in_the_period() -> None:
    token = parse_date_token("26APR0501")
    assert (token.day, token.hour, token.is_day) == (date(2026, 4, 5), 1, False)
    spec = parse_kalshi_ticker("kalshi", "KXBTC-26APR0501-B75750", between("75700", "75799.99"))
    assert (spec.day, spec.period) == (date(2026, 4, 5), "26APR0501")


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        ("26FEB30", "no day 30"),
        ("25FEB29", "no day 29"),  # 2025 is not a leap year
        ("26FOO09", "FOO is not a month"),
        ("26APR0524", "hour 24"),
        ("26FEB9", "YYMONDD"),
        ("2602", "YYMONDD"),
        ("FEB09", "YYMONDD"),
    ],
)
def test_malformed_date_token_is_refused_saying_why(token: str, reason: str) -> None:
    with pytest.raises(MalformedSymbol, match=reason) as caught:
        parse_date_token(token)
    assert caught.value.symbol == token


def test_ticker_with_a_malformed_date_is_refused_naming_the_ticker() -> None:
    with pytest.raises(MalformedSymbol, match="no day 30") as caught:
        parse_kalshi_ticker("kalshi", "KXHIGHCHI-26FEB30-B38.5", between("38", "39"))
    assert caught.value.symbol == "KXHIGHCHI-26FEB30-B38.5"


@pytest.mark.parametrize(
    "ticker",
    [
        "KXHIGHCHI-26FEB09-B",  # no number
        "KXHIGHCHI-26FEB09-T4.2.5",
        "KXHIGHCHI-26FEB09",  # an event, not a market
        "kxhighchi-26feb09-b38.5",
        "KXFEDDECISION-27APR-H2.5",  # basis points are whole
        "KXHIGHCHI-26FEB09-X5",  # not a strike letter
        "KXHIGHCHI-26FEB09-B38.5-EXTRA",
    ],
)
def test_malformed_ticker_is_refused_naming_it(ticker: str) -> None:
    with pytest.raises(MalformedSymbol, match="Kalshi market ticker") as caught:
        split_kalshi_ticker(ticker)
    assert caught.value.symbol == ticker


# -- Polymarket ---------------------------------------------------------------------------------------------

ELECTION_CONDITION = "0x3f8b2c9d4e1a7b6c5d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c"
YES_TOKEN = "54533043819946592547517511176940999955633860128497669742211153063842200957669"
NO_TOKEN = "87854174148074652060467921081181402357467303721471806610111179101805869578687"


def test_gamma_market_gives_one_spec_per_outcome_token_paired_by_index() -> None:
    yes, no = parse_polymarket_market("polymarket", gamma_markets()[0])
    assert yes == ContractSpec(
        venue="polymarket",
        ticker=f"{ELECTION_CONDITION}:{YES_TOKEN}",
        series="presidential-election-winner-2028",
        event="presidential-election-winner-2028",
        underlying=ELECTION_CONDITION,
        domain=Domain.UNKNOWN,
        measure=Measure.UNKNOWN,
        subject="",
        outcome="Yes",
        title="Will the Democratic candidate win the 2028 US presidential election?",
    )
    assert (no.ticker, no.outcome, no.underlying) == (
        f"{ELECTION_CONDITION}:{NO_TOKEN}",
        "No",
        ELECTION_CONDITION,
    )


def test_gamma_temperature_market_is_weather() -> None:
    specs = parse_polymarket_market("polymarket", gamma_markets()[1])
    assert [spec.domain for spec in specs] == [Domain.WEATHER, Domain.WEATHER]
    assert specs[0].event == "highest-temperature-in-chicago-on-april-9"


def test_named_outcomes_pair_with_their_tokens_in_order() -> None:
    market = gamma_markets()[0] | {"outcomes": '["Up", "Down"]'}
    assert [(spec.outcome, spec.ticker.split(":")[1]) for spec in parse_polymarket_market("p", market)] == [
        ("Up", YES_TOKEN),
        ("Down", NO_TOKEN),
    ]


def test_condition_id_is_lower_cased_and_the_event_falls_back_to_it() -> None:
    market = gamma_markets()[0] | {"conditionId": ELECTION_CONDITION.upper().replace("0X", "0x")}
    del market["events"]
    spec = parse_polymarket_market("polymarket", market)[0]
    assert (spec.underlying, spec.event) == (ELECTION_CONDITION, ELECTION_CONDITION)


@pytest.mark.parametrize(
    ("question", "domain"),
    [
        ("Will the highest temperature in NYC be 90°F or higher on July 9?", Domain.WEATHER),
        ("Weather: will it snow in Denver on Christmas?", Domain.WEATHER),
        ("Will CPI inflation be above 3% in June?", Domain.ECONOMICS),
        ("Will US inflation exceed 4% in 2026?", Domain.ECONOMICS),
        ("Will Q2 GDP growth be above 2%?", Domain.ECONOMICS),
        ("Will the Fed cut rates in September?", Domain.ECONOMICS),
        ("Will the Lakers win the 2026 NBA Finals?", Domain.UNKNOWN),
        ("Will the team be fed up with the coach?", Domain.UNKNOWN),  # "fed" the verb is not the Fed
    ],
)
def test_polymarket_domain_comes_from_keywords_in_the_question(question: str, domain: Domain) -> None:
    assert polymarket_domain(question) is domain


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"outcomes": '["Yes", "No"'}, "outcomes"),  # broken JSON
        ({"outcomes": ["Yes", "No"]}, "outcomes"),  # decoded, not the JSON-encoded string Gamma sends
        ({"outcomes": '{"Yes": 1}'}, "outcomes"),
        ({"outcomes": "[]"}, "outcomes"),
        ({"clobTokenIds": '["5453", 8785]'}, "clobTokenIds"),
        ({"clobTokenIds": '["5453", "0xabc"]'}, "clobTokenIds"),
        ({"clobTokenIds": '["5453"]'}, "clobTokenIds"),  # one token for two outcomes
        ({"clobTokenIds": None}, "clobTokenIds"),
        ({"conditionId": "0x1234"}, "conditionId"),
        ({"conditionId": None}, "conditionId"),
    ],
)
def test_malformed_gamma_market_is_refused_naming_the_field(change: dict[str, Any], field: str) -> None:
    market = gamma_markets()[0] | change
    with pytest.raises(ValueError, match=field) as caught:
        parse_polymarket_market("polymarket", market)
    assert "559652" in str(caught.value)
