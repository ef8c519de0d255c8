#!/usr/bin/env bash
# Shared by start.sh and test.sh: make sure .venv exists with Python >= 3.11 and holds the
# project installed with the given extras. Reinstalls only when pyproject.toml changes.
# Usage: source scripts/bootstrap.sh [extras]   (extras e.g. "dev"; empty for the daemon only)
set -euo pipefail

bootstrap_extras="${1:-}"
bootstrap_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bootstrap_venv="$bootstrap_root/.venv"

pick_python() {
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

if [ ! -x "$bootstrap_venv/bin/python" ]; then
  python_bin="$(pick_python)" || { echo "error: Python 3.11 or newer is required (none found on PATH)" >&2; exit 1; }
  if ! "$python_bin" -m venv "$bootstrap_venv" 2>/dev/null; then
    # Debian ships venv separately; install it when we are allowed to.
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
      version="$("$python_bin" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
      apt-get update -qq && apt-get install -y -qq "python${version}-venv" >/dev/null
      rm -rf "$bootstrap_venv"
      "$python_bin" -m venv "$bootstrap_venv"
    else
      echo "error: '$python_bin -m venv' failed; install the venv module (Debian: apt-get install python3-venv)" >&2
      exit 1
    fi
  fi
fi

hash="$(sha256sum "$bootstrap_root/pyproject.toml" | cut -c1-16)"
stamp="$bootstrap_venv/.installed-$hash-${bootstrap_extras:-base}"
satisfied=0
[ -f "$stamp" ] && satisfied=1
# The dev extra is a superset of the base install: a test environment also runs the daemon.
[ -z "$bootstrap_extras" ] && [ -f "$bootstrap_venv/.installed-$hash-dev" ] && satisfied=1
if [ "$satisfied" = 0 ]; then
  echo "Installing the project into .venv (extras: ${bootstrap_extras:-none}); the first time takes a few minutes..."
  "$bootstrap_venv/bin/python" -m pip install --quiet --upgrade pip
  target="$bootstrap_root"
  [ -n "$bootstrap_extras" ] && target="$bootstrap_root[$bootstrap_extras]"
  "$bootstrap_venv/bin/python" -m pip install --quiet -e "$target"
  # stamps of an older pyproject.toml no longer hold
  find "$bootstrap_venv" -maxdepth 1 -name '.installed-*' ! -name ".installed-$hash-*" -delete
  touch "$stamp"
fi

# The dashboard's browser tests drive Debian's chromium through Playwright (Playwright's own
# browser download needs the internet; the distribution's package does not).
if [ "$bootstrap_extras" = "dev" ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing chromium for the dashboard's browser tests..."
    (apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; })
  else
    echo "warning: chromium is missing and cannot be installed here (apt-get install chromium); the browser tests will fail" >&2
  fi
fi
