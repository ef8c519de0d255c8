"""An options chain: quotes for one underlying at one moment, their data checks, smile and term structure.

Time to expiry is ACT/365 from the date of `as_of` (in the timezone `as_of` carries; give it in the
listing market's timezone). An option whose expiry is on or before that date has no time left on
that count and is reported as expired.

Implied vols come from each quote's mid, (bid + ask) / 2, through `options.implied_vol.implied_vols`
(European BSM: exact for index options, an approximation for American equity options). Run `clean()`
first so that crossed, locked, missing, stale and expired quotes do not reach the solver.

Moneyness is ln(K / F) with the forward F = S e^{(r - q) t}. The smile keeps the out-of-the-money
side by default (puts below the forward, calls at or above it): OTM options carry the time value
that the implied vol measures, while deep ITM prices are mostly intrinsic value and wide spreads.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal

import numpy as np

from options.bsm import BoolArray, FloatArray
from options.contracts import OptionKind, year_fraction
from options.implied_vol import implied_vols


class QuoteProblem(StrEnum):
    NO_PRICE = "no_price"  # bid or ask missing, NaN, zero or negative
    CROSSED = "crossed"  # bid above ask
    LOCKED = "locked"  # bid equal to ask: no spread, usually a stale or synthetic quote
    STALE = "stale"  # quoted longer ago than the allowed age, or never
    EXPIRED = "expired"  # expiry on or before the as-of date


@dataclass(frozen=True, slots=True)
class OptionQuote:
    """One contract's quote. Missing prices are NaN (the check reports them, construction does not)."""

    symbol: str
    underlying: str
    kind: OptionKind
    strike: float
    expiry: date
    bid: float
    ask: float
    last: float | None = None
    quote_time: datetime | None = None
    volume: int | None = None
    open_interest: int | None = None
    iv: float | None = None  # the vendor's implied vol, kept for comparison; ours comes from the mid

    def __post_init__(self) -> None:
        if not self.symbol.strip() or not self.underlying.strip():
            raise ValueError(f"option quote needs a symbol and an underlying, got {self.symbol!r}")
        if not isinstance(self.kind, OptionKind):
            raise ValueError(f"{self.symbol}: kind must be an OptionKind, got {self.kind!r}")
        if not math.isfinite(self.strike) or self.strike <= 0:
            raise ValueError(f"{self.symbol}: strike must be a positive number, got {self.strike}")
        if isinstance(self.expiry, datetime) or not isinstance(self.expiry, date):
            raise ValueError(f"{self.symbol}: expiry must be a date, got {self.expiry!r}")
        if self.quote_time is not None and self.quote_time.utcoffset() is None:
            raise ValueError(f"{self.symbol}: quote_time must be timezone-aware, got {self.quote_time}")
        for name in ("volume", "open_interest"):
            count = getattr(self, name)
            if count is not None and count < 0:
                raise ValueError(f"{self.symbol}: {name} must not be negative, got {count}")

    @property
    def is_call(self) -> bool:
        return self.kind is OptionKind.CALL

    @property
    def mid(self) -> float:
        return 0.5 * (self.bid + self.ask)


@dataclass(frozen=True, slots=True)
class QuoteIssue:
    symbol: str
    problem: QuoteProblem
    detail: str

    def __str__(self) -> str:
        return f"{self.symbol}: {self.detail}"


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """Every problem found in a chain, one entry per (quote, problem)."""

    issues: tuple[QuoteIssue, ...]

    @property
    def ok(self) -> bool:
        return not self.issues

    def symbols_with(self, problem: QuoteProblem) -> tuple[str, ...]:
        return tuple(issue.symbol for issue in self.issues if issue.problem is problem)

    def problems_of(self, symbol: str) -> tuple[QuoteProblem, ...]:
        return tuple(issue.problem for issue in self.issues if issue.symbol == symbol)


@dataclass(frozen=True, eq=False)
class ChainArrays:
    """The chain as parallel arrays, in quote order, for vectorized pricing."""

    symbols: tuple[str, ...]
    is_call: BoolArray
    strike: FloatArray
    t: FloatArray
    mid: FloatArray


@dataclass(frozen=True, eq=False)
class ChainVols:
    """Implied vol per quote (NaN where none) and, for those, the solver's reason."""

    symbols: tuple[str, ...]
    vols: FloatArray
    errors: tuple[str | None, ...]

    def missing(self) -> tuple[tuple[str, str], ...]:
        return tuple((s, e) for s, e in zip(self.symbols, self.errors, strict=True) if e is not None)


SmileSide = Literal["otm", "calls", "puts"]


@dataclass(frozen=True, eq=False)
class Smile:
    """Implied vols of one expiry against strike and log-moneyness, sorted by strike.

    `missing` lists the contracts of the chosen side that have no implied vol, with the reason.
    """

    expiry: date
    t: float
    forward: float
    symbols: tuple[str, ...]
    is_call: BoolArray
    strike: FloatArray
    log_moneyness: FloatArray
    vol: FloatArray
    missing: tuple[tuple[str, str], ...] = field(default=())

    def atm_vol(self) -> float | None:
        """The vol at ln(K/F) = 0, linear in log-moneyness between the neighbouring strikes.

        None unless strikes lie on both sides of the forward (or one sits exactly on it): the
        at-the-money vol is never extrapolated.
        """
        x = self.log_moneyness
        if x.size == 0 or not (x.min() <= 0.0 <= x.max()):
            return None
        return float(np.interp(0.0, x, self.vol))


@dataclass(frozen=True, eq=False)
class TermStructure:
    """At-the-money implied vol per expiry; `skipped` says why an expiry has none."""

    expiries: tuple[date, ...]
    t: FloatArray
    atm_vol: FloatArray
    skipped: tuple[tuple[date, str], ...] = field(default=())


@dataclass(frozen=True, eq=False)
class OptionChain:
    underlying: str
    spot: float
    as_of: datetime
    quotes: tuple[OptionQuote, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "quotes", tuple(self.quotes))
        if not math.isfinite(self.spot) or self.spot <= 0:
            raise ValueError(f"{self.underlying} chain: spot must be a positive number, got {self.spot}")
        if self.as_of.utcoffset() is None:
            raise ValueError(f"{self.underlying} chain: as_of must be timezone-aware, got {self.as_of}")
        strangers = [q.symbol for q in self.quotes if q.underlying != self.underlying]
        if strangers:
            raise ValueError(f"{self.underlying} chain holds quotes of other underlyings: {strangers[:5]}")
        repeated = [s for s, n in Counter(q.symbol for q in self.quotes).items() if n > 1]
        if repeated:
            raise ValueError(f"{self.underlying} chain quotes these symbols more than once: {repeated[:5]}")

    def __len__(self) -> int:
        return len(self.quotes)

    @property
    def valuation_date(self) -> date:
        return self.as_of.date()

    @property
    def expiries(self) -> tuple[date, ...]:
        return tuple(sorted({q.expiry for q in self.quotes}))

    def years_to(self, expiry: date) -> float:
        """ACT/365 years from the as-of date; 0 for an expiry already past."""
        return year_fraction(self.valuation_date, max(expiry, self.valuation_date))

    def forward(self, expiry: date, rate: float, dividend: float = 0.0) -> float:
        return self.spot * math.exp((rate - dividend) * self.years_to(expiry))

    # ------------------------------------------------------------------------------ data checks
    def check(self, max_age: timedelta) -> ChainCheck:
        """Every crossed, locked, unpriced, stale (older than `max_age` at `as_of`) or expired quote."""
        if max_age < timedelta(0):
            raise ValueError(f"max_age must not be negative, got {max_age}")
        return ChainCheck(tuple(issue for q in self.quotes for issue in self._issues(q, max_age)))

    def _issues(self, quote: OptionQuote, max_age: timedelta) -> Iterable[QuoteIssue]:
        def issue(problem: QuoteProblem, detail: str) -> QuoteIssue:
            return QuoteIssue(quote.symbol, problem, detail)

        priced = True
        for side, price in (("bid", quote.bid), ("ask", quote.ask)):
            if not math.isfinite(price) or price <= 0:
                priced = False
                yield issue(QuoteProblem.NO_PRICE, f"{side} is {price}: no usable price")
        if priced and quote.bid > quote.ask:
            yield issue(QuoteProblem.CROSSED, f"crossed: bid {quote.bid} above ask {quote.ask}")
        elif priced and quote.bid == quote.ask:
            yield issue(QuoteProblem.LOCKED, f"locked: bid equals ask at {quote.bid}")
        if quote.quote_time is None:
            yield issue(QuoteProblem.STALE, "stale: the quote has no time")
        elif self.as_of - quote.quote_time > max_age:
            age = self.as_of - quote.quote_time
            yield issue(QuoteProblem.STALE, f"stale: quoted {age} before {self.as_of}, more than {max_age}")
        if quote.expiry <= self.valuation_date:
            yield issue(QuoteProblem.EXPIRED, f"expired: expiry {quote.expiry}, as of {self.valuation_date}")

    def clean(self, max_age: timedelta) -> OptionChain:
        """The chain without any quote `check` finds a problem with."""
        flagged = {issue.symbol for issue in self.check(max_age).issues}
        return self.with_quotes(q for q in self.quotes if q.symbol not in flagged)

    def with_quotes(self, quotes: Iterable[OptionQuote]) -> OptionChain:
        return OptionChain(self.underlying, self.spot, self.as_of, tuple(quotes))

    # ------------------------------------------------------------------------------ arrays & vols
    def to_arrays(self) -> ChainArrays:
        return ChainArrays(
            symbols=tuple(q.symbol for q in self.quotes),
            is_call=np.array([q.is_call for q in self.quotes], dtype=np.bool_),
            strike=np.array([q.strike for q in self.quotes], dtype=np.float64),
            t=np.array([self.years_to(q.expiry) for q in self.quotes], dtype=np.float64),
            mid=np.array([q.mid for q in self.quotes], dtype=np.float64),
        )

    def implied_vols(self, rate: float, dividend: float = 0.0) -> ChainVols:
        """Each quote's implied vol from its mid; NaN with the solver's reason where there is none."""
        arrays = self.to_arrays()
        if not self.quotes:
            return ChainVols((), np.empty(0), ())
        solved = implied_vols(arrays.mid, arrays.is_call, self.spot, arrays.strike, arrays.t, rate, dividend)
        return ChainVols(arrays.symbols, np.asarray(solved.vols, dtype=np.float64), solved.errors)

    # ------------------------------------------------------------------------ smile & term structure
    def smile(self, expiry: date, rate: float, dividend: float = 0.0, side: SmileSide = "otm") -> Smile:
        quotes = [q for q in self.quotes if q.expiry == expiry]
        if not quotes:
            raise ValueError(f"{self.underlying} chain has no quotes expiring {expiry}")
        return self._smile(expiry, quotes, rate, dividend, side)

    def _smile(
        self, expiry: date, quotes: Sequence[OptionQuote], rate: float, dividend: float, side: SmileSide
    ) -> Smile:
        if side not in ("otm", "calls", "puts"):
            raise ValueError(f"smile side must be 'otm', 'calls' or 'puts', got {side!r}")
        forward = self.forward(expiry, rate, dividend)

        def wanted(q: OptionQuote) -> bool:
            if side == "calls":
                return q.is_call
            if side == "puts":
                return not q.is_call
            return q.is_call if q.strike >= forward else not q.is_call

        chosen = sorted((q for q in quotes if wanted(q)), key=lambda q: q.strike)
        vols = self.with_quotes(chosen).implied_vols(rate, dividend)
        usable = np.isfinite(vols.vols)
        strike = np.array([q.strike for q in chosen], dtype=np.float64)[usable]
        return Smile(
            expiry=expiry,
            t=self.years_to(expiry),
            forward=forward,
            symbols=tuple(s for s, ok in zip(vols.symbols, usable, strict=True) if ok),
            is_call=np.array([q.is_call for q in chosen], dtype=np.bool_)[usable],
            strike=strike,
            log_moneyness=np.log(strike / forward),
            vol=vols.vols[usable],
            missing=vols.missing(),
        )

    def term_structure(self, rate: float, dividend: float = 0.0) -> TermStructure:
        """ATM implied vol per expiry, from the OTM smile interpolated at ln(K/F) = 0."""
        expiries: list[date] = []
        times: list[float] = []
        atm: list[float] = []
        skipped: list[tuple[date, str]] = []
        for expiry in self.expiries:
            smile = self.smile(expiry, rate, dividend)
            vol = smile.atm_vol()
            if vol is None:
                reason = (
                    "no implied vols"
                    if smile.strike.size == 0
                    else f"strikes {smile.strike.min():g}-{smile.strike.max():g} do not bracket "
                    f"the forward {smile.forward:.4f}"
                )
                skipped.append((expiry, reason))
                continue
            expiries.append(expiry)
            times.append(smile.t)
            atm.append(vol)
        return TermStructure(
            expiries=tuple(expiries),
            t=np.array(times, dtype=np.float64),
            atm_vol=np.array(atm, dtype=np.float64),
            skipped=tuple(skipped),
        )
