"""Chain loaders: CSV files, and Alpaca through the real alpaca-py SDK over HTTP to a local fake."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from alpaca.common.exceptions import APIError
from alpaca.data.historical.option import OptionHistoricalDataClient
from alpaca.data.requests import OptionChainRequest
from alpaca.trading.enums import ContractType

from options.chain_loaders import ChainFileError, load_chain_alpaca, load_chain_csv
from options.chains import OptionChain, QuoteProblem
from options.contracts import OptionKind
from tests.fakes.alpaca import API_KEY, SECRET_KEY
from tests.fakes.alpaca_options import SPY_CHAIN_FIXTURE, FakeAlpacaOptions, load_snapshots

FIXTURES = Path(__file__).parent / "fixtures"
AS_OF = datetime(2024, 6, 3, 15, 30, tzinfo=UTC)
SPOT, RATE, DIVIDEND = 500.0, 0.05, 0.013
BROKEN = {
    "SPY240621C00530000": (QuoteProblem.CROSSED,),
    "SPY240621P00470000": (QuoteProblem.STALE,),
    "SPY240719C00540000": (QuoteProblem.NO_PRICE, QuoteProblem.NO_PRICE, QuoteProblem.STALE),
    "SPY240719P00460000": (QuoteProblem.LOCKED,),
    "SPY240531C00500000": (QuoteProblem.EXPIRED,),
}


def fixture_smile_vol(strike: float, expiry: date) -> float:
    """The vol the fixtures' twenty clean contracts were priced at (see the JSON's _comment)."""
    t = (expiry - AS_OF.date()).days / 365
    k = math.log(strike / (SPOT * math.exp((RATE - DIVIDEND) * t)))
    return 0.15 - 0.1 * k + 0.5 * k**2 + (0.01 if expiry == date(2024, 7, 19) else 0.0)


def assert_is_the_spy_fixture_chain(chain: OptionChain) -> None:
    assert len(chain) == 25
    quote = next(q for q in chain.quotes if q.symbol == "SPY240621C00500000")
    assert (quote.kind, quote.strike, quote.expiry) == (OptionKind.CALL, 500.0, date(2024, 6, 21))
    assert (quote.bid, quote.ask, quote.last, quote.iv) == (7.057401, 7.157401, 7.11, 0.150184)
    assert quote.quote_time == datetime(2024, 6, 3, 15, 29, 58, 412937, tzinfo=UTC)
    check = chain.check(max_age=timedelta(minutes=5))
    assert {issue.symbol for issue in check.issues} == set(BROKEN)
    for symbol, problems in BROKEN.items():
        assert check.problems_of(symbol) == problems
    clean = chain.clean(max_age=timedelta(minutes=5))
    assert len(clean) == 20
    vols = clean.implied_vols(RATE, DIVIDEND)
    expected = [fixture_smile_vol(q.strike, q.expiry) for q in clean.quotes]
    # prices were rounded to 1e-6 in the fixture: vega ~ 20-60 per unit vol bounds the error by ~5e-8
    np.testing.assert_allclose(vols.vols, expected, atol=1e-6)


# ------------------------------------------------------------------------------------------- CSV
def test_csv_fixture_loads_into_the_spy_chain() -> None:
    chain = load_chain_csv(FIXTURES / "spy_chain.csv", "SPY", SPOT, AS_OF)
    assert_is_the_spy_fixture_chain(chain)
    quote = next(q for q in chain.quotes if q.symbol == "SPY240621C00500000")
    assert (quote.volume, quote.open_interest) == (10, 250)


def test_csv_with_contract_columns_needs_no_occ_symbols(tmp_path: Path) -> None:
    path = tmp_path / "chain.csv"
    path.write_text(
        "symbol,kind,strike,expiry,bid,ask,quote_time\n"
        "weekly-510-put,P,510,2024-06-07,10.4,10.6,2024-06-03T15:29:00+00:00\n"
        "weekly-510-call,call,510,2024-06-07,0.9,,2024-06-03T15:29:00Z\n"
    )
    chain = load_chain_csv(path, "SPY", SPOT, AS_OF)
    put, call = chain.quotes
    assert (put.kind, put.strike, put.expiry, put.mid) == (OptionKind.PUT, 510.0, date(2024, 6, 7), 10.5)
    assert math.isnan(call.ask)
    assert chain.check(timedelta(minutes=5)).symbols_with(QuoteProblem.NO_PRICE) == ("weekly-510-call",)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ("SPY240621C00500000,7.0,abc,2024-06-03T15:29:00Z\n", "line 3, column ask: 'abc' is not a number"),
        (
            "SPY240621C00500000,7.0,7.1,2024-06-03 15:29:00\n",
            "line 3, column quote_time: '2024-06-03 15:29:00' has no UTC",
        ),
        (
            "SPY24062C00500000,7.0,7.1,2024-06-03T15:29:00Z\n",
            "line 3, column symbol: 'SPY24062C00500000' is not an OCC",
        ),
        (
            "SPY240621C00500000,inf,7.1,2024-06-03T15:29:00Z\n",
            "line 3, column bid: 'inf' is not a finite number",
        ),
    ],
)
def test_csv_errors_name_the_file_line_and_column(tmp_path: Path, body: str, where: str) -> None:
    path = tmp_path / "chain.csv"
    path.write_text("symbol,bid,ask,quote_time\nSPY240621P00500000,6.0,6.1,2024-06-03T15:29:00Z\n" + body)
    with pytest.raises(ChainFileError) as raised:
        load_chain_csv(path, "SPY", SPOT, AS_OF)
    assert str(raised.value).startswith(f"{path}, {where}")


def test_csv_without_a_required_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "chain.csv"
    path.write_text("symbol,bid,quote_time\nSPY240621P00500000,6.0,2024-06-03T15:29:00Z\n")
    with pytest.raises(ChainFileError, match=r"chain\.csv: missing column\(s\) ask"):
        load_chain_csv(path, "SPY", SPOT, AS_OF)


# ---------------------------------------------------------------------------------------- Alpaca
@pytest.fixture
def alpaca() -> Iterator[FakeAlpacaOptions]:
    fake = FakeAlpacaOptions(page_size=7).start()
    fake.serve_chain("SPY", load_snapshots(SPY_CHAIN_FIXTURE))
    yield fake
    fake.stop()


@pytest.mark.parametrize("raw_data", [True, False], ids=["raw-json", "sdk-models"])
def test_alpaca_chain_loads_every_page_through_the_sdk(alpaca: FakeAlpacaOptions, raw_data: bool) -> None:
    client = OptionHistoricalDataClient(API_KEY, SECRET_KEY, raw_data=raw_data, url_override=alpaca.url)
    chain = load_chain_alpaca(client, "SPY", SPOT, AS_OF)
    assert_is_the_spy_fixture_chain(chain)
    pages = alpaca.server.requests_to("GET", "/v1beta1/options/snapshots/SPY")
    assert len(pages) == 4  # 25 snapshots, 7 a page
    assert [p.query.get("page_token") is None for p in pages] == [True, False, False, False]


def test_alpaca_request_filters_reach_the_venue(alpaca: FakeAlpacaOptions) -> None:
    client = OptionHistoricalDataClient(API_KEY, SECRET_KEY, raw_data=True, url_override=alpaca.url)
    request = OptionChainRequest(
        underlying_symbol="SPY", type=ContractType.PUT, expiration_date=date(2024, 7, 19)
    )
    chain = load_chain_alpaca(client, "SPY", SPOT, AS_OF, request=request)
    assert {q.kind for q in chain.quotes} == {OptionKind.PUT}
    assert [q.strike for q in chain.quotes] == [460.0, 480.0, 490.0, 500.0, 510.0, 520.0]
    assert alpaca.server.requests[0].query["type"] == "put"


def test_alpaca_chain_of_an_unlisted_underlying_is_empty(alpaca: FakeAlpacaOptions) -> None:
    client = OptionHistoricalDataClient(API_KEY, SECRET_KEY, raw_data=True, url_override=alpaca.url)
    assert len(load_chain_alpaca(client, "QQQ", 450.0, AS_OF)) == 0


def test_alpaca_refusal_surfaces_as_the_sdk_error(alpaca: FakeAlpacaOptions) -> None:
    client = OptionHistoricalDataClient(API_KEY, "wrong-secret", raw_data=True, url_override=alpaca.url)
    with pytest.raises(APIError, match="not authorized"):
        load_chain_alpaca(client, "SPY", SPOT, AS_OF)


def test_alpaca_request_for_another_underlying_is_refused(alpaca: FakeAlpacaOptions) -> None:
    client = OptionHistoricalDataClient(API_KEY, SECRET_KEY, raw_data=True, url_override=alpaca.url)
    with pytest.raises(ValueError, match="request is for QQQ, not SPY"):
        load_chain_alpaca(client, "SPY", SPOT, AS_OF, request=OptionChainRequest(underlying_symbol="QQQ"))
