"""Option chains: data checks, cleaning, implied vols, smile, term structure and arrays.

Prices of the synthetic chain come from QuantLib's BlackCalculator at a known smile, so the
implied vols the chain finds from its mids are checked against an independent pricer.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
import QuantLib as ql

from options.chains import OptionChain, OptionQuote, QuoteProblem
from options.contracts import OptionKind

AS_OF = datetime(2025, 1, 2, 15, 0, tzinfo=UTC)
FRESH = AS_OF - timedelta(seconds=5)
SPOT, RATE, DIVIDEND = 100.0, 0.04, 0.01
NEAR, FAR = date(2025, 2, 1), date(2025, 4, 2)  # 30 and 90 days after 2025-01-02
STRIKES = (90.0, 95.0, 100.0, 105.0, 110.0)
HALF_SPREAD = 0.02


def smile_vol(log_moneyness: float, expiry: date) -> float:
    """The vol the synthetic chain is priced at: a skewed smile, 2 points higher for the far expiry."""
    return 0.2 - 0.05 * log_moneyness + 0.3 * log_moneyness**2 + (0.02 if expiry == FAR else 0.0)


def forward(expiry: date) -> float:
    return SPOT * math.exp((RATE - DIVIDEND) * (expiry - AS_OF.date()).days / 365)


def ql_price(kind: OptionKind, strike: float, expiry: date) -> float:
    t = (expiry - AS_OF.date()).days / 365
    vol = smile_vol(math.log(strike / forward(expiry)), expiry)
    option_type = ql.Option.Call if kind is OptionKind.CALL else ql.Option.Put
    payoff = ql.PlainVanillaPayoff(option_type, strike)
    return float(ql.BlackCalculator(payoff, forward(expiry), vol * math.sqrt(t), math.exp(-RATE * t)).value())


def symbol(kind: OptionKind, strike: float, expiry: date) -> str:
    return f"XYZ{expiry:%y%m%d}{'C' if kind is OptionKind.CALL else 'P'}{round(strike * 1000):08d}"


def quote(
    kind: OptionKind,
    strike: float,
    expiry: date,
    bid: float,
    ask: float,
    quote_time: datetime | None = FRESH,
) -> OptionQuote:
    return OptionQuote(
        symbol=symbol(kind, strike, expiry),
        underlying="XYZ",
        kind=kind,
        strike=strike,
        expiry=expiry,
        bid=bid,
        ask=ask,
        quote_time=quote_time,
    )


def priced_quote(kind: OptionKind, strike: float, expiry: date) -> OptionQuote:
    price = ql_price(kind, strike, expiry)
    return quote(kind, strike, expiry, price - HALF_SPREAD, price + HALF_SPREAD)


@pytest.fixture
def chain() -> OptionChain:
    quotes = [
        priced_quote(kind, strike, expiry)
        for expiry in (NEAR, FAR)
        for strike in STRIKES
        for kind in (OptionKind.CALL, OptionKind.PUT)
    ]
    return OptionChain("XYZ", SPOT, AS_OF, tuple(quotes))


def test_check_names_each_broken_quote_and_its_problem() -> None:
    quotes = (
        quote(OptionKind.CALL, 100, NEAR, 2.10, 2.00),  # crossed
        quote(OptionKind.CALL, 105, NEAR, 1.50, 1.50),  # locked
        quote(OptionKind.PUT, 80, NEAR, 0.0, 0.05),  # zero bid
        quote(OptionKind.PUT, 85, NEAR, math.nan, 0.10),  # missing bid
        quote(OptionKind.PUT, 75, NEAR, -0.01, 0.05),  # negative bid
        quote(OptionKind.PUT, 95, NEAR, 1.0, 1.1, quote_time=AS_OF - timedelta(minutes=16)),  # stale
        quote(OptionKind.PUT, 90, NEAR, 0.5, 0.6, quote_time=None),  # never quoted
        quote(OptionKind.CALL, 100, date(2025, 1, 2), 1.0, 1.1),  # expires on the as-of date
        quote(OptionKind.CALL, 110, NEAR, 0.3, 0.35),  # fine
    )
    check = OptionChain("XYZ", SPOT, AS_OF, quotes).check(max_age=timedelta(minutes=15))
    assert not check.ok
    assert check.symbols_with(QuoteProblem.CROSSED) == ("XYZ250201C00100000",)
    assert check.symbols_with(QuoteProblem.LOCKED) == ("XYZ250201C00105000",)
    assert check.symbols_with(QuoteProblem.NO_PRICE) == (
        "XYZ250201P00080000",
        "XYZ250201P00085000",
        "XYZ250201P00075000",
    )
    assert check.symbols_with(QuoteProblem.STALE) == ("XYZ250201P00095000", "XYZ250201P00090000")
    assert check.symbols_with(QuoteProblem.EXPIRED) == ("XYZ250102C00100000",)
    assert check.problems_of("XYZ250201C00110000") == ()
    crossed = next(i for i in check.issues if i.problem is QuoteProblem.CROSSED)
    assert str(crossed) == "XYZ250201C00100000: crossed: bid 2.1 above ask 2.0"


def test_quote_exactly_max_age_old_is_not_stale() -> None:
    quotes = (quote(OptionKind.PUT, 95, NEAR, 1.0, 1.1, quote_time=AS_OF - timedelta(minutes=15)),)
    assert OptionChain("XYZ", SPOT, AS_OF, quotes).check(timedelta(minutes=15)).ok


def test_clean_keeps_only_usable_quotes(chain: OptionChain) -> None:
    broken = (
        quote(OptionKind.CALL, 120, NEAR, 0.2, 0.1),
        quote(OptionKind.PUT, 80, NEAR, 0.1, 0.2, quote_time=AS_OF - timedelta(hours=2)),
    )
    dirty = chain.with_quotes((*chain.quotes, *broken))
    cleaned = dirty.clean(max_age=timedelta(minutes=1))
    assert [q.symbol for q in cleaned.quotes] == [q.symbol for q in chain.quotes]
    assert cleaned.check(timedelta(minutes=1)).ok


def test_to_arrays_gives_kind_strike_act365_years_and_mid() -> None:
    # 2025-01-02 -> 2025-02-01 is 30 days: t = 30 / 365 = 0.0821918; mid (1.00 + 1.20) / 2 = 1.10
    quotes = (quote(OptionKind.CALL, 100, NEAR, 1.0, 1.2), quote(OptionKind.PUT, 95, FAR, 0.4, 0.5))
    arrays = OptionChain("XYZ", SPOT, AS_OF, quotes).to_arrays()
    np.testing.assert_array_equal(arrays.is_call, [True, False])
    np.testing.assert_array_equal(arrays.strike, [100.0, 95.0])
    np.testing.assert_allclose(arrays.t, [30 / 365, 90 / 365], rtol=1e-15)
    np.testing.assert_allclose(arrays.mid, [1.10, 0.45], rtol=1e-15)


def test_implied_vols_from_mids_match_the_quantlib_pricing_vols(chain: OptionChain) -> None:
    vols = chain.implied_vols(RATE, DIVIDEND)
    expected = [smile_vol(math.log(q.strike / forward(q.expiry)), q.expiry) for q in chain.quotes]
    np.testing.assert_allclose(vols.vols, expected, atol=1e-9)
    assert vols.missing() == ()


def test_implied_vols_keep_the_reason_where_a_mid_has_none() -> None:
    # a 90 call 30 days out is worth at least S e^-qt - K e^-rt = 99.918 - 89.705 = 10.21; mid 9.0 is below
    quotes = (quote(OptionKind.CALL, 90, NEAR, 8.9, 9.1), priced_quote(OptionKind.CALL, 100, NEAR))
    vols = OptionChain("XYZ", SPOT, AS_OF, quotes).implied_vols(RATE, DIVIDEND)
    assert np.isnan(vols.vols[0]) and np.isfinite(vols.vols[1])
    ((missing_symbol, reason),) = vols.missing()
    assert missing_symbol == "XYZ250201C00090000"
    assert "lower no-arbitrage bound" in reason


def test_smile_keeps_puts_below_the_forward_and_calls_above(chain: OptionChain) -> None:
    # F = 100 e^{(0.04 - 0.01) 30/365} = 100 e^{0.0024658} = 100.24688: 90, 95, 100 are below it
    smile = chain.smile(NEAR, RATE, DIVIDEND)
    assert smile.forward == pytest.approx(100.246880, rel=1e-7)
    np.testing.assert_array_equal(smile.strike, STRIKES)
    np.testing.assert_array_equal(smile.is_call, [False, False, False, True, True])
    # ln(90 / 100.24688) = -0.1078263, ln(110 / 100.24688) = 0.0928444
    assert smile.log_moneyness[0] == pytest.approx(-0.1078263, abs=1e-7)
    assert smile.log_moneyness[-1] == pytest.approx(0.0928444, abs=1e-7)
    np.testing.assert_allclose(smile.vol, [smile_vol(k, NEAR) for k in smile.log_moneyness], atol=1e-9)


def test_smile_of_calls_only_has_every_strike_as_a_call(chain: OptionChain) -> None:
    smile = chain.smile(FAR, RATE, DIVIDEND, side="calls")
    assert smile.is_call.all()
    assert smile.symbols == tuple(symbol(OptionKind.CALL, k, FAR) for k in STRIKES)


def test_smile_of_an_expiry_not_in_the_chain_is_refused(chain: OptionChain) -> None:
    with pytest.raises(ValueError, match="no quotes expiring 2025-03-01"):
        chain.smile(date(2025, 3, 1), RATE)


def test_term_structure_interpolates_the_smile_at_the_forward(chain: OptionChain) -> None:
    expected = []
    for expiry in (NEAR, FAR):
        # the neighbours of F: 100 below, 105 above; linear in k = ln(K/F) between them
        k_low, k_high = math.log(100 / forward(expiry)), math.log(105 / forward(expiry))
        v_low, v_high = smile_vol(k_low, expiry), smile_vol(k_high, expiry)
        expected.append(v_low + (v_high - v_low) * (0 - k_low) / (k_high - k_low))
    # near: k_low = -0.0024658, k_high = 0.0463244; v 0.2001251 and 0.1983276;
    # 0.2001251 + (0.1983276 - 0.2001251) * 0.0024658 / 0.0487902 = 0.2001251 - 0.0000908 = 0.2000343
    assert expected[0] == pytest.approx(0.2000343, abs=1e-7)
    terms = chain.term_structure(RATE, DIVIDEND)
    assert terms.expiries == (NEAR, FAR)
    np.testing.assert_allclose(terms.t, [30 / 365, 90 / 365])
    np.testing.assert_allclose(terms.atm_vol, expected, atol=1e-9)


def test_term_structure_skips_an_expiry_whose_strikes_miss_the_forward() -> None:
    quotes = (priced_quote(OptionKind.PUT, 90, NEAR), priced_quote(OptionKind.PUT, 95, NEAR))
    terms = OptionChain("XYZ", SPOT, AS_OF, quotes).term_structure(RATE, DIVIDEND)
    assert terms.expiries == ()
    ((expiry, reason),) = terms.skipped
    assert expiry == NEAR and "do not bracket the forward" in reason


def test_chain_refuses_quotes_of_another_underlying_or_repeated_symbols() -> None:
    other = OptionQuote("ABC250201C00100000", "ABC", OptionKind.CALL, 100.0, NEAR, 1.0, 1.1)
    with pytest.raises(ValueError, match="other underlyings"):
        OptionChain("XYZ", SPOT, AS_OF, (other,))
    twice = quote(OptionKind.CALL, 100, NEAR, 1.0, 1.1)
    with pytest.raises(ValueError, match="more than once"):
        OptionChain("XYZ", SPOT, AS_OF, (twice, twice))


def test_chain_and_quote_refuse_naive_times() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        OptionChain("XYZ", SPOT, datetime(2025, 1, 2, 15, 0), ())
    with pytest.raises(ValueError, match="timezone-aware"):
        quote(OptionKind.CALL, 100, NEAR, 1.0, 1.1, quote_time=datetime(2025, 1, 2, 15, 0))
