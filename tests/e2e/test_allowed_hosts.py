"""Vite's dev and preview servers answer the hosting platforms' public hostnames, and only those.

Each request goes to the real server on loopback with the Host header a platform's proxy
sends. A Host that is neither localhost, an IP, a platform's domain nor one listed in
CRUDDUR_ALLOWED_HOSTS gets Vite's 403, which is its protection against DNS rebinding.
"""
from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import FRONTEND_DIR, wait_until_up
from tests.processes import free_port

pytestmark = pytest.mark.e2e

PLATFORM_HOSTS = [
    "cruddur-example-3000.app.github.dev",  # Codespaces
    "3000--cruddur-example.us01.gitpod.dev",  # today's Gitpod
    "3000-cruddur-example.ws-example.gitpod.io",  # Gitpod Classic
]
LISTED_HOST = "cruddur.example.test"
REFUSED_HOSTS = ["attacker.example", "app.github.dev.attacker.example", "gitpod.io.evil.test"]


@contextmanager
def vite(*args: str):
    """`vite ARGS` on a free loopback port, with LISTED_HOST in CRUDDUR_ALLOWED_HOSTS."""
    port = free_port()
    env = {**os.environ, "PORT": str(port), "CRUDDUR_ALLOWED_HOSTS": f" {LISTED_HOST} ,"}
    with tempfile.NamedTemporaryFile("w+", suffix=".log") as log:
        process = subprocess.Popen(["node_modules/.bin/vite", *args, "--host", "127.0.0.1"],
                                   cwd=FRONTEND_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_until_up(url, process, Path(log.name))
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def dev_server(bundle):  # the bundle fixture installs the front end's packages when missing
    with vite() as url:
        yield url


@pytest.fixture(scope="module")
def preview_server(bundle):
    with vite("preview", "--outDir", str(bundle)) as url:
        yield url


@pytest.mark.parametrize("server", ["dev_server", "preview_server"])
@pytest.mark.parametrize("host", [*PLATFORM_HOSTS, LISTED_HOST, "localhost"])
def test_platform_and_listed_hosts_are_served(request, server, host):
    response = requests.get(request.getfixturevalue(server), headers={"Host": host}, timeout=10)
    assert response.status_code == 200
    assert '<div id="root">' in response.text


@pytest.mark.parametrize("server", ["dev_server", "preview_server"])
@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_other_hosts_are_refused(request, server, host):
    response = requests.get(request.getfixturevalue(server), headers={"Host": host}, timeout=10)
    assert response.status_code == 403
    assert "is not allowed" in response.text


def websocket_handshake(url: str, host: str, path: str) -> str:
    """The status line the server answers to a WebSocket upgrade of Vite's HMR protocol."""
    address = url.removeprefix("http://").split(":")
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection((address[0], int(address[1])), timeout=10) as connection:
        connection.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: vite-hmr\r\n\r\n").encode())
        return connection.recv(4096).decode(errors="replace").split("\r\n", 1)[0]


def test_hot_reload_works_through_a_platforms_https_proxy(dev_server):
    host = PLATFORM_HOSTS[0]
    client = requests.get(f"{dev_server}/@vite/client", headers={"Host": host}, timeout=10).text
    # No port of its own: the browser opens wss:// to the page's host and port (443 at the proxy).
    assert re.search(r"const hmrPort = null;", client)
    assert "socketProtocol = null || (importMetaUrl.protocol === \"https:\" ? \"wss\" : \"ws\")" in client
    token = re.search(r'const wsToken = "([^"]+)";', client).group(1)
    assert websocket_handshake(dev_server, host, f"/?token={token}").startswith("HTTP/1.1 101")
    assert not websocket_handshake(dev_server, REFUSED_HOSTS[0], f"/?token={token}").startswith("HTTP/1.1 101")
