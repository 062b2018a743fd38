"""The front end as `docker compose up` runs it: an edit reaches the open page by Vite's hot
module replacement, with no reload, over the dev server's websocket."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import FRONTEND_DIR, wait_until_up
from tests.processes import free_port
from tests.test_devenv import compose_command

pytestmark = pytest.mark.e2e


@pytest.fixture
def dev_server(bundle, tmp_path):  # the bundle fixture installs the front end's packages when missing
    """Compose's front-end command, from a copy of the app's folder (the mount) on a free port."""
    app = tmp_path / "frontend-react-js"
    shutil.copytree(FRONTEND_DIR, app, ignore=shutil.ignore_patterns("node_modules", "dist"))
    (app / "node_modules").symlink_to(FRONTEND_DIR / "node_modules")
    port = free_port()
    log = tmp_path / "output"
    with log.open("w") as output:
        process = subprocess.Popen(compose_command("frontend-react-js", FRONTEND_DIR / "Dockerfile"), cwd=app,
                                   env={**os.environ, "PORT": str(port)}, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url, process, log, timeout=90)
        yield url, app
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=10)


def test_an_edit_reaches_the_open_page_without_a_reload(browser, dev_server):
    url, app = dev_server
    context = browser.new_context()
    page = context.new_page()
    frames: list[str] = []
    page.on("websocket", lambda socket: socket.on("framereceived", lambda payload: frames.append(str(payload))))
    console: list[str] = []  # Vite's client tells here why an update did not apply
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"{url}/no/such/page")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found", timeout=30_000)
    page.evaluate("window.sinceLoad = true")
    # An edit made before Vite's client has its socket is announced to no one: wait for the socket.
    for _ in range(300):
        if any('"type":"connected"' in frame for frame in frames):
            break
        page.wait_for_timeout(100)
    assert any('"type":"connected"' in frame for frame in frames), f"no HMR socket after 30 s: {frames}"

    source = app / "src" / "pages" / "NotFoundPage.jsx"
    # Saved over the old text in one write, never truncated first: the watcher could read the
    # truncated file, and Vite then sent a module with no component ("Could not Fast Refresh").
    edited = source.read_text().replace("Page not found", "Nothing lives here")  # longer: nothing left over
    with source.open("r+") as file:
        file.write(edited)

    try:
        expect(page.get_by_role("heading", level=1)).to_have_text("Nothing lives here", timeout=15_000)
    except AssertionError as error:  # what the socket carried and what Vite said tell why
        raise AssertionError(f"{error}\nframes: {frames}\nconsole: {console}\n"
                             f"Vite: {(app.parent / 'output').read_text()}") from None
    assert page.evaluate("window.sinceLoad") is True, "the page was reloaded, not updated in place"
    assert any('"type":"update"' in frame and "NotFoundPage.jsx" in frame for frame in frames)
    context.close()
