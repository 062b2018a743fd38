"""The README's first command, as a newcomer runs it: `make run` serves the API and the front end,
and the page in a browser shows the feed it fetched from the API across origins (CORS)."""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

from tests.e2e.conftest import wait_until_up
from tests.processes import GUNICORN_CMD_ARGS, free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_make_run_serves_the_api_and_the_page_that_shows_its_feed(bundle, browser, tmp_path):
    # The bundle fixture installs the front end's packages when missing; free ports, so a
    # newcomer's own `make run` on 4567 and 3000 does not fail this test.
    backend_port, frontend_port = free_port(), free_port()
    log = tmp_path / "output"
    # As typed in a terminal: not a sub-make of `make test`, and with the Makefile's own origins.
    env = {name: value for name, value in os.environ.items()
           if name not in ("FRONTEND_URL", "BACKEND_URL", "MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    with log.open("w") as output:
        process = subprocess.Popen(["make", "run", f"BACKEND_PORT={backend_port}", f"FRONTEND_PORT={frontend_port}"],
                                   cwd=ROOT, env={**env, "DATABASE_URL": f"sqlite:///{tmp_path}/cruddur.db",
                                                  "GUNICORN_CMD_ARGS": GUNICORN_CMD_ARGS},
                                   stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_up(f"http://localhost:{backend_port}/api/health", process, log, timeout=60)
        wait_until_up(f"http://localhost:{frontend_port}/", process, log, timeout=90)
        assert requests.get(f"http://localhost:{backend_port}/api/health", timeout=5).json()["integrations"] == {
            "opentelemetry": "on", "xray": "off", "cloudwatch": "off", "rollbar": "off", "metrics": "on"}

        page = browser.new_page()
        page.goto(f"http://localhost:{frontend_port}/")
        expect(page.get_by_text("Cloud is very fun!")).to_be_visible(timeout=30_000)
        page.close()
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C, as a newcomer stops it
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # nothing left behind, whatever failed
            raise
    output = log.read_text()
    # Both servers stopped by themselves: gunicorn's master last, no worker killed by a signal,
    # no traceback, and make's complaint, if it makes one before it dies, is of the Ctrl-C.
    assert "Shutting down: Master" in output and "was sent" not in output and "Traceback" not in output, output
    assert all(line.endswith(("Error 130", "Interrupt")) for line in output.splitlines() if "***" in line), output
