"""Take the README's dashboard screenshots from a real simulated run.

Runs the default configuration (every bot, paper mode, the embedded simulated world) for a few
simulated hours to fill a journal, then keeps the daemon running on the simulated clock with the
dashboard attached exactly as `build_live` attaches it, and captures every page in headless
Chromium (Debian's /usr/bin/chromium, driven by Playwright) into docs/screenshots/.

The daily loss limit is raised to $300 for the demo, so the run is not halted for the day by its
first losing hour. Nothing is written outside a temporary folder and docs/screenshots/.

    .venv/bin/python scripts/screenshots.py [--hours 4] [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, sync_playwright  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

from config.loader import LoadedConfig, load_config  # noqa: E402
from dashboard.server import DashboardService, attach_dashboard  # noqa: E402
from runtime.wiring import SimulatedRun, build_simulated, with_paths  # noqa: E402

START = datetime(2026, 3, 2, 9, 30, tzinfo=ZoneInfo("America/New_York"))
DEMO_TOKEN = "screenshots-demo-token-0123456789"
PAGES = [  # (file name, path, what must be drawn before the picture is taken)
    ("overview", "", "#live-events li"),  # a fill or two has arrived over the live feed
    ("bots", "bots", "#bots-table tr[data-bot]"),
    ("positions", "positions", "#positions-table tr td + td"),  # an open position, not the empty row
    ("signals", "signals", "#signals-table tr td a"),
    ("analytics", "analytics", "#gate-table tr td"),
    ("risk", "risk", "#controls-table tr td"),
]


def demo_config(folder: Path) -> LoadedConfig:
    config = with_paths(load_config(), database=folder / "demo.sqlite", var_dir=folder / "var")
    settings = config.settings
    settings = settings.model_copy(
        update={
            "risk": settings.risk.model_copy(update={"daily_loss_limit_usd": 300.0}),
            "dashboard": settings.dashboard.model_copy(update={"port": 0}),
        }
    )
    return LoadedConfig(settings, config.registry, config.settings_path, config.registry_path)


def fill(config: LoadedConfig, hours: float) -> None:
    run = build_simulated(config, START)

    async def go() -> None:
        await run.orchestrator.start()
        await run.scheduler.run_until(run.clock.now() + timedelta(hours=hours))
        await run.orchestrator.stop()

    asyncio.run(go())


class Daemon(threading.Thread):
    """The daemon on the simulated clock, built and run on this thread (as the real one runs on its own)."""

    def __init__(self, config: LoadedConfig, start: datetime) -> None:
        super().__init__(name="demo-daemon", daemon=True)
        self._config = config
        self._start = start
        self.started = threading.Event()
        self.stopping = threading.Event()
        self.service: DashboardService | None = None

    def run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        run: SimulatedRun = build_simulated(self._config, self._start)
        self.service = attach_dashboard(run.orchestrator, {"DASHBOARD_TOKEN": DEMO_TOKEN})
        await run.orchestrator.start()
        self.started.set()
        while not self.stopping.is_set():
            await run.scheduler.run_until(run.clock.now() + timedelta(seconds=5))  # 100 s a second
            await asyncio.sleep(0.05)
        await run.orchestrator.stop()


def capture(page: Page, url: str, path: Path, ready: str) -> None:
    page.goto(url)
    try:
        page.wait_for_selector(ready, timeout=60_000)
    except PlaywrightTimeout:
        print(f"  (nothing matched {ready} within a minute; taking the picture as it is)")
    page.wait_for_load_state("networkidle")
    time.sleep(0.6)  # let the first live events arrive
    height = min(page.evaluate("document.documentElement.scrollHeight"), 1200)
    page.screenshot(path=str(path), full_page=True, clip={"x": 0, "y": 0, "width": 1280, "height": height})
    print(f"  {path} ({path.stat().st_size // 1024} KB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--hours", type=float, default=4.0, help="simulated hours of trading before the pictures"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory() as folder:
        config = demo_config(Path(folder))
        print(f"filling a journal with {args.hours:g} simulated hours of the default bots...")
        fill(config, args.hours)
        daemon = Daemon(config, START + timedelta(hours=args.hours, minutes=1))
        daemon.start()
        if not daemon.started.wait(120) or daemon.service is None or daemon.service.url is None:
            raise SystemExit("the demo daemon or its dashboard did not start")
        url = daemon.service.url
        print(f"dashboard at {url}; capturing:")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox", "--disable-gpu"]
                )
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.add_init_script(f"sessionStorage.setItem('dashboard.token', '{DEMO_TOKEN}')")
                for name, path, ready in PAGES:
                    capture(page, url + path, args.out / f"{name}.png", ready)
                page.goto(url + "signals")
                page.wait_for_selector("#signals-table tr td a")
                signal = page.get_attribute("#signals-table tr td a", "href") or ""
                capture(page, url + signal.lstrip("/"), args.out / "signal.png", "#road-decisions tr td")
                browser.close()
        finally:
            daemon.stopping.set()
            daemon.join(30)


if __name__ == "__main__":
    main()
