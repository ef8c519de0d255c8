#!/usr/bin/env bash
# Command one: set up .venv, install the project, start the daemon in paper mode on the
# embedded simulated world (no keys, no network). Returns once the daemon reports
# "daemon running"; the daemon keeps running in the background (see ./stop.sh).
#   ./start.sh                 background, log in <var_dir>/daemon.log
#   ./start.sh --foreground    attached to this terminal (Ctrl-C stops it gracefully)
#   CONFIG=path/to/settings.toml ./start.sh
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=scripts/bootstrap.sh
source scripts/bootstrap.sh

py=.venv/bin/python
config="${CONFIG:-config/default.toml}"
startup_timeout="${START_TIMEOUT_SECONDS:-120}"

# Validates the configuration too: an error names the file and the key, and nothing starts.
var_dir="$($py -c 'import sys
from config.loader import ConfigError, load_config
try:
    print(load_config(sys.argv[1]).settings.system.var_dir)
except ConfigError as exc:
    sys.exit(f"configuration error: {exc}")' "$config")"

if [ "${1:-}" = "--foreground" ]; then
  exec "$py" master_orchestrator.py run --config "$config"
fi

mkdir -p "$var_dir"
log="$var_dir/daemon.log"
pid_file="$var_dir/daemon.pid"
if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null \
  && grep -q master_orchestrator "/proc/$(cat "$pid_file")/cmdline" 2>/dev/null; then
  echo "daemon already running (pid $(cat "$pid_file")); stop it with ./stop.sh"
  exit 0
fi

touch "$log"
offset=$(wc -c <"$log")
nohup "$py" master_orchestrator.py run --config "$config" >>"$log" 2>&1 </dev/null &
pid=$!
deadline=$((SECONDS + startup_timeout))
while [ "$SECONDS" -lt "$deadline" ]; do
  if tail -c +"$((offset + 1))" "$log" | grep -q "daemon running"; then
    echo "daemon running (pid $pid); log: $log"
    # the daemon logs where its dashboard listens (or why it does not)
    dashboard="$(tail -c +"$((offset + 1))" "$log" | grep -o -E 'dashboard (at http[^ ]*|not started.*|disabled.*)' | tail -n 1 || true)"
    if [ -n "$dashboard" ]; then echo "  ${dashboard}"; fi
    echo "  status: .venv/bin/python master_orchestrator.py status --config $config"
    echo "  stop:   ./stop.sh"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "error: the daemon exited during start-up; the end of $log:" >&2
    tail -c +"$((offset + 1))" "$log" | tail -n 30 >&2
    exit 1
  fi
  sleep 0.5
done
echo "error: no 'daemon running' within ${startup_timeout} s; still starting? see $log" >&2
exit 1
