"""The launch scripts: syntax of all four, and command one (start.sh / stop.sh) for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tree_sitter_powershell
from tree_sitter import Language, Node, Parser

from config.loader import DEFAULT_CONFIG

ROOT = Path(__file__).resolve().parents[1]


def _first_error(node: Node) -> Node | None:
    if node.type == "ERROR" or node.is_missing:
        return node
    for child in node.children:
        found = _first_error(child)
        if found is not None:
            return found
    return None


@pytest.mark.parametrize("script", ["start.ps1", "stop.ps1"])
def test_powershell_scripts_parse(script: str) -> None:
    parser = Parser(Language(tree_sitter_powershell.language()))
    tree = parser.parse((ROOT / script).read_bytes())
    error = _first_error(tree.root_node)
    assert error is None, f"{script}: syntax error near line {error.start_point[0] + 1}"


def test_the_powershell_parser_does_catch_errors() -> None:
    parser = Parser(Language(tree_sitter_powershell.language()))
    assert parser.parse(b"if ($x { Write-Host 'unclosed'").root_node.has_error


@pytest.mark.parametrize("script", ["start.sh", "stop.sh", "test.sh", "scripts/bootstrap.sh", ".ci/run"])
def test_shell_scripts_parse_and_are_executable(script: str) -> None:
    path = ROOT / script
    subprocess.run(["bash", "-n", str(path)], check=True)
    if script != "scripts/bootstrap.sh":  # sourced, not run
        assert os.access(path, os.X_OK), f"{script} is not executable"


def _config_in(tmp_path: Path) -> Path:
    settings = DEFAULT_CONFIG.read_text()
    settings = settings.replace('database = "var/trading.sqlite"', f'database = "{tmp_path / "t.sqlite"}"')
    settings = settings.replace('var_dir = "var"', f'var_dir = "{tmp_path / "var"}"')
    settings = settings.replace(
        'registry = "bots.toml"', f'registry = "{DEFAULT_CONFIG.parent / "bots.toml"}"'
    )
    path = tmp_path / "settings.toml"
    path.write_text(settings)
    return path


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="start.sh is the Linux launcher")
def test_start_sh_runs_the_daemon_in_the_background_and_stop_sh_stops_it(tmp_path: Path) -> None:
    config = _config_in(tmp_path)
    env = dict(os.environ, CONFIG=str(config))
    started = subprocess.run(
        [str(ROOT / "start.sh")], env=env, capture_output=True, text=True, timeout=240, cwd=tmp_path
    )
    pid_file = tmp_path / "var" / "daemon.pid"
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert "daemon running" in started.stdout
        assert pid_file.exists()
        again = subprocess.run([str(ROOT / "start.sh")], env=env, capture_output=True, text=True, timeout=120)
        assert "already running" in again.stdout  # never two daemons on one database
        status = subprocess.run(
            [sys.executable, "master_orchestrator.py", "status", "--json", "--config", str(config)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        data = json.loads(status.stdout)
        assert data["daemon_running"]
        assert len(data["bots"]) >= 10
    finally:
        stopped = subprocess.run([str(ROOT / "stop.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert not pid_file.exists()
    log = (tmp_path / "var" / "daemon.log").read_text()
    assert "stop requested" in log
    assert (tmp_path / "var" / "simulated_market.json").exists()  # the world was saved on the way out
