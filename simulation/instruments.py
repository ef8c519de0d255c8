"""The nine instruments of the simulated world and how each one is quoted.

Starting prices are round numbers near early-2024 levels. Spreads follow each
market's usual liquid quote: about 1 bp for large ETFs, 3 bp for major crypto
pairs and 0.6 pip for major currency pairs. Factor loadings give instruments of
one asset class a common driver (SPY and QQQ move together, XLE less so); they
are assumptions, not estimates.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from domain.instruments import AssetClass, Instrument

STOCK_VENUE = "sim-stocks"
CRYPTO_VENUE = "sim-crypto"
FX_VENUE = "sim-fx"


@dataclass(frozen=True, slots=True)
class SimulatedSpec:
    """An instrument plus what the simulator needs to price it."""

    instrument: Instrument
    start_price: float
    # the quoted spread: a fraction of the mid (spread_fraction) plus a fixed amount in price units
    spread_fraction: float
    spread_absolute: float
    factor_loading: float  # weight of the asset-class factor in each step's shock, in [0, 1)
    volume_per_minute: float  # typical traded quantity per one-minute bar

    def __post_init__(self) -> None:
        if self.start_price <= 0:
            raise ValueError(f"{self.instrument.symbol}: start price must be positive")
        if not 0 <= self.factor_loading < 1:
            raise ValueError(f"{self.instrument.symbol}: factor loading must be in [0, 1)")

    def half_spread(self, mid: float) -> float:
        return (mid * self.spread_fraction + self.spread_absolute) / 2


def _stock(symbol: str, price: float, loading: float, volume: float) -> SimulatedSpec:
    instrument = Instrument(
        symbol=symbol,
        venue=STOCK_VENUE,
        asset_class=AssetClass.STOCK,
        tick_size=Decimal("0.01"),
        lot_size=Decimal("1"),
        underlying=symbol,
        min_quantity=Decimal("1"),
    )
    return SimulatedSpec(instrument, price, 1e-4, 0.0, loading, volume)


def _crypto(symbol: str, price: float, loading: float, volume: float) -> SimulatedSpec:
    instrument = Instrument(
        symbol=symbol,
        venue=CRYPTO_VENUE,
        asset_class=AssetClass.CRYPTO,
        tick_size=Decimal("0.01"),
        lot_size=Decimal("0.0001"),
        underlying=symbol.split("/")[0],
        min_notional=Decimal("1"),
    )
    return SimulatedSpec(instrument, price, 3e-4, 0.0, loading, volume)


def _fx(symbol: str, price: float, loading: float, volume: float) -> SimulatedSpec:
    instrument = Instrument(
        symbol=symbol,
        venue=FX_VENUE,
        asset_class=AssetClass.FOREX,
        tick_size=Decimal("0.00001"),
        lot_size=Decimal("1"),
        underlying=symbol,
        min_quantity=Decimal("1"),
    )
    return SimulatedSpec(instrument, price, 0.0, 0.00006, loading, volume)


# Order matters: the index of a spec seeds its random stream, so append, never reorder.
SIMULATED_SPECS: tuple[SimulatedSpec, ...] = (
    _stock("SPY", 500.0, 0.90, 40_000.0),
    _stock("QQQ", 430.0, 0.85, 25_000.0),
    _stock("XLE", 90.0, 0.60, 8_000.0),
    _crypto("BTC/USD", 60_000.0, 0.80, 15.0),
    _crypto("ETH/USD", 3_000.0, 0.80, 200.0),
    _crypto("SOL/USD", 150.0, 0.70, 3_000.0),
    _fx("EUR_USD", 1.08, 0.70, 5_000_000.0),
    _fx("GBP_USD", 1.27, 0.60, 2_000_000.0),
    _fx("AUD_USD", 0.66, 0.40, 1_500_000.0),
)

# One common factor per asset class; its random stream index follows the instruments'.
ASSET_CLASS_FACTORS: tuple[AssetClass, ...] = (AssetClass.STOCK, AssetClass.CRYPTO, AssetClass.FOREX)
