#!/usr/bin/env bash
# Graceful stop: the daemon finishes in-flight work, snapshots equity, saves the simulated
# world and exits. Uses the same CONFIG as ./start.sh.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/python ]; then
  echo "no .venv here: the daemon was never started from this checkout"
  exit 0
fi
exec .venv/bin/python master_orchestrator.py stop --config "${CONFIG:-config/default.toml}"
