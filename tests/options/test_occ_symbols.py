"""OCC option symbols: parsing, formatting and the errors for malformed ones."""

from __future__ import annotations

from datetime import date

import pytest

from options.contracts import OptionKind
from options.occ_symbols import OccSymbol, format_occ_symbol, parse_occ_symbol


def test_parses_root_expiry_kind_and_strike_in_thousandths() -> None:
    # AAPL | 24 01 19 | C | 00190000 -> 190000 / 1000 = 190.0
    assert parse_occ_symbol("AAPL240119C00190000") == OccSymbol(
        "AAPL", date(2024, 1, 19), OptionKind.CALL, 190.0
    )


def test_parses_a_fractional_strike_and_a_put() -> None:
    # 00472500 -> 472500 / 1000 = 472.5
    contract = parse_occ_symbol("SPY240621P00472500")
    assert (contract.kind, contract.strike, contract.expiry) == (OptionKind.PUT, 472.5, date(2024, 6, 21))


def test_parses_the_space_padded_21_character_form() -> None:
    assert parse_occ_symbol("SPY   240621P00472500") == parse_occ_symbol("SPY240621P00472500")


def test_format_writes_the_compact_symbol_back() -> None:
    for symbol in (
        "AAPL240119C00190000",
        "SPXW241220P04875000",
        "BRKB250117C00000500",
        "AAPL1240119P00007500",
    ):
        assert format_occ_symbol(parse_occ_symbol(symbol)) == symbol
    assert str(OccSymbol("QQQ", date(2025, 3, 21), OptionKind.PUT, 431.25)) == "QQQ250321P00431250"


@pytest.mark.parametrize(
    ("symbol", "problem"),
    [
        ("AAPL24011", "too short"),
        ("aapl240119C00190000", "root 'aapl'"),
        ("TOOLONGX240119C00190000", "root 'TOOLONGX'"),
        ("AAPL2401x9C00190000", "expiry '2401x9'"),
        ("AAPL240119X00190000", "type 'X'"),
        ("AAPL240119C0019000a", "strike '0019000a'"),
        ("AAPL241319C00190000", "expiry 241319 is not a date"),
        ("AAPL240119C00000000", "strike is zero"),
    ],
)
def test_malformed_symbols_name_the_symbol_and_the_problem(symbol: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as raised:
        parse_occ_symbol(symbol)
    assert repr(symbol) in str(raised.value)


def test_a_strike_finer_than_a_tenth_of_a_cent_cannot_be_written() -> None:
    with pytest.raises(ValueError, match="finer than"):
        OccSymbol("SPY", date(2024, 6, 21), OptionKind.CALL, 500.0005)
