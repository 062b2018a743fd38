"""Fronts that make a real peer fail on demand: the app is pointed at the front, not the peer.

`FaultyHTTP` stands before an HTTP peer (OTLP receiver, moto, Rollbar stand-in) and
`FaultyUDP` before the X-Ray daemon. Each holds its port for its whole life, "down" included,
so "healthy" again means the same address works again, as when a real service comes back, and
no other socket (an app's outgoing connection or datagram) can take the port meanwhile.
"""
from __future__ import annotations

import http.client
import socket
import struct
import threading
import time
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

from tests.peers.http import QuietHandler

# nothing listening on the port | accepts, then resets | answers 500 | answers 429 | answers after SLOW_S
HTTP_FAULTS = ("down", "refused", "500", "429", "slow")
# AWS's endpoints also answer 403 to a bad signature or expired credentials.
AWS_HTTP_FAULTS = (*HTTP_FAULTS, "403")
# UDP has no connection to refuse and no status to answer with; a daemon can only be absent
# (loopback answers ICMP port unreachable) or alive but not reading (its buffer fills, the kernel drops).
UDP_FAULTS = ("down", "stalled")
SLOW_S = 10.0
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def reserve(kind: socket.SocketKind) -> socket.socket:
    """A socket that holds a loopback port and refuses what is sent to it, as a port with nothing
    on it does: a TCP socket bound but not listening, or a UDP socket connected to itself.
    SO_REUSEADDR lets the front's listener bind the same port beside it."""
    sock = socket.socket(socket.AF_INET, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    if kind == socket.SOCK_DGRAM:
        sock.connect(sock.getsockname())
    return sock


def reset(sock: socket.socket) -> None:
    """Close with RST instead of FIN, as a refusing server does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def verify_request(self, request, client_address) -> bool:
        if self.front.mode == "refused":
            reset(request)
            return False
        return True

    def handle_error(self, request, client_address) -> None:
        pass  # a reset or a client gone away mid-answer is the point of this server


class FaultyHTTP:
    def __init__(self, upstream: str):
        self.upstream = urlsplit(upstream).netloc
        self._reservation = reserve(socket.SOCK_STREAM)
        self.port = self._reservation.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.mode = "healthy"
        self.forwarded = 0
        self._server: _Server | None = None

    def _listen(self) -> None:
        self._server = _Server(("127.0.0.1", self.port), _Forwarder)
        self._server.front = self
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    def set(self, mode: str) -> None:
        assert mode == "healthy" or mode in AWS_HTTP_FAULTS, mode
        self.mode = mode
        if mode == "down" and self._server:
            self._close()
        elif mode != "down" and not self._server:
            self._listen()

    def start(self) -> FaultyHTTP:
        self._listen()
        return self

    def stop(self) -> None:
        if self._server:
            self._close()
        self._reservation.close()

    def __enter__(self) -> FaultyHTTP:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class _Forwarder(QuietHandler):
    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        upstream = http.client.HTTPConnection(self.server.front.upstream, timeout=30)
        try:
            headers = {name: value for name, value in self.headers.items() if name.lower() not in HOP_BY_HOP}
            upstream.request(self.command, self.path, body, headers)
            response = upstream.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            upstream.close()

    def _handle(self) -> None:
        front = self.server.front
        # As sent: decompressing it would forward other bytes than the client signed.
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if front.mode in ("down", "refused"):
            reset(self.connection)  # a kept-alive connection from before the fault
            self.close_connection = True
            return
        if front.mode in ("500", "429"):
            self.reply(int(front.mode), b'{"message": "injected fault"}')
            return
        if front.mode == "403":
            self.reply(403, b'{"message": "The security token included in the request is expired"}')
            return
        if front.mode == "slow":
            time.sleep(SLOW_S)
        status, headers, answer = self._forward(body)
        front.forwarded += 1
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


class FaultyUDP:
    """Relays datagrams to the daemon at `upstream` ("host:port") while healthy."""

    def __init__(self, upstream: str):
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self._reservation = reserve(socket.SOCK_DGRAM)
        self.port = self._reservation.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.mode = "healthy"
        self._socket: socket.socket | None = None
        self._relaying: threading.Thread | None = None
        self._reading = threading.Event()

    def _bind(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", self.port))
        self._socket.settimeout(0.1)
        self._relaying = threading.Thread(target=self._relay, args=(self._socket,), daemon=True)
        self._relaying.start()

    def _relay(self, sock: socket.socket) -> None:
        while sock.fileno() != -1:
            if not self._reading.wait(0.1):
                continue
            try:
                datagram = sock.recv(65536)
                sock.sendto(datagram, self.upstream)
            except (TimeoutError, OSError):
                continue

    def set(self, mode: str) -> None:
        assert mode == "healthy" or mode in UDP_FAULTS, mode
        self.mode = mode
        if mode == "stalled":
            self._reading.clear()
        else:
            self._reading.set()
        if mode == "down" and self._socket:
            self._socket.close()
            self._relaying.join()  # a recv() already waiting holds the socket open until it returns
            self._socket = None
        elif mode != "down" and not self._socket:
            self._bind()

    def start(self) -> FaultyUDP:
        self.set("healthy")
        return self

    def stop(self) -> None:
        self.set("down")
        self._reservation.close()

    def __enter__(self) -> FaultyUDP:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
