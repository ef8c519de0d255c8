"""Pure trading rules over bars, shared by bots and backtests.

Each strategy module offers the same small surface:

- a frozen `...Params` dataclass (validated at construction; `from_mapping` parses a
  registry's `params` table, refusing unknown names);
- `compute_indicators(series, params)`: full-length indicator arrays, each value computed
  from bars up to its own index only (so a vectorized backtest can read them without
  looking ahead);
- `decide_at(..., index, ...)`: the decision at one bar from those arrays;
- `decide(...)`: the decision at the last bar, which is what a bot calls each tick.

No I/O, no clock: the same bars always give the same decision.
"""
