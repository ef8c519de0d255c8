#!/usr/bin/env bash
# Command two: create or update the environment, then run every check CI runs:
# ruff (lint and format), mypy on the core packages, and the whole pytest suite in parallel.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=scripts/bootstrap.sh
source scripts/bootstrap.sh dev

export HF_HUB_OFFLINE=1 PYTHONHASHSEED=0
py=.venv/bin/python

echo "== ruff"
$py -m ruff check .
$py -m ruff format --check .
echo "== mypy"
$py -m mypy
echo "== pytest"
workers="${PYTEST_WORKERS:-auto}"
exec $py -m pytest -n "$workers" "$@"
