"""`python -m backtest ...`: the backtest command line (see `backtest.cli`)."""

import sys

from backtest.cli import main

sys.exit(main())
