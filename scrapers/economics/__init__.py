"""The economic sources for Kalshi's CPI, GDP and Fed markets.

- `probability.band_probability`: P(YES) for a number published rounded, under a Normal error band.
- `fred`: the FRED client (`FredClient`, `parse_observations`) and `FredSource` (decided KXFED
  outcomes, `latest`, the CPI m/m history).
- `gdpnow.GdpNowSource`: KXGDP from the Atlanta Fed's GDPNow, read through FRED.
- `cleveland_fed.ClevelandFedNowcastSource`: KXCPI / KXCPIYOY from the Cleveland Fed's nowcasts.
"""
