"""The whole of Cruddur on loopback, for end-to-end tests in a real browser.

An OTLP receiver, the backend under gunicorn exporting to it, the front end built with
both URLs and served by `vite preview`, and Debian's Chromium driven by Playwright.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from tests.peers.otlp import OtlpReceiver
from tests.processes import Gunicorn, free_port

FRONTEND_DIR = Path(__file__).resolve().parents[2] / "frontend-react-js"
CHROMIUM = Path("/usr/bin/chromium")
# As root, in a sandbox with no network: no sandboxing, and none of Chromium's calls home.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Must never reach the bundle, though Vite is given it beside the two URLs it does need.
PLANTED_SECRET = "e2e-planted-honeycomb-key"


def missing(what: str) -> None:
    """In CI a missing tool fails the run; on a developer's machine it skips these tests."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is missing, and CI must run the end-to-end tests", pytrace=False)
    pytest.skip(f"{what} is missing (`make test` installs it)")


def wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited early:\n{log.read_text()}")
        try:
            if requests.get(url, timeout=1).ok:
                return
        except (requests.ConnectionError, requests.Timeout):  # Vite's first answer can take seconds
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def frontend_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="session")
def otlp(frontend_url):
    with OtlpReceiver(cors_origins=[frontend_url]) as receiver:
        yield receiver


@pytest.fixture(scope="session")
def backend(frontend_url, otlp):
    env = {"FRONTEND_URL": frontend_url, "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.url, "OTEL_BSP_SCHEDULE_DELAY": "200"}
    with Gunicorn(env) as server:
        yield server


@pytest.fixture(scope="session")
def bundle(backend, otlp, tmp_path_factory) -> Path:
    """The production build, pointed at this run's backend and receiver."""
    if not shutil.which("npm"):
        missing("npm (Node.js)")
    if not (FRONTEND_DIR / "node_modules" / ".bin" / "vite").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=FRONTEND_DIR, check=True, capture_output=True)
    out_dir = tmp_path_factory.mktemp("dist")
    env = {**os.environ, "REACT_APP_BACKEND_URL": backend.url, "REACT_APP_OTEL_COLLECTOR_URL": otlp.url,
           "REACT_APP_HONEYCOMB_API_KEY": PLANTED_SECRET}
    subprocess.run(["node_modules/.bin/vite", "build", "--outDir", str(out_dir), "--emptyOutDir"],
                   cwd=FRONTEND_DIR, env=env, check=True, capture_output=True)
    return out_dir


@pytest.fixture(scope="session")
def frontend(frontend_url, bundle):
    """`vite preview` serving the build, as `npm run preview` does, on this run's port."""
    port = frontend_url.rsplit(":", 1)[1]
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as log:
        process = subprocess.Popen(
            ["node_modules/.bin/vite", "preview", "--outDir", str(bundle), "--host", "127.0.0.1",
             "--port", port, "--strictPort"],
            cwd=FRONTEND_DIR, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(frontend_url, process, Path(log.name))
            yield frontend_url
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        missing(str(CHROMIUM))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # Playwright gives each launch a new, empty --user-data-dir of its own.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, frontend):
    """A fresh browser context on the home page; any uncaught script error fails the test."""
    context = browser.new_context(base_url=frontend, viewport={"width": 1100, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    yield page
    context.close()
    assert not errors, f"script errors in the page: {errors}"
