"""A UDP socket standing in for the X-Ray daemon: collects the segment documents sent to it."""
from __future__ import annotations

import json
import socket
import threading
import time

HEADER = {"format": "json", "version": 1}


class XRayDaemon:
    def __init__(self):
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.2)
        self.address = "127.0.0.1:%d" % self.socket.getsockname()[1]
        self.documents: list[dict] = []
        self._running = True
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._receive, daemon=True)

    def _receive(self) -> None:
        while self._running:
            try:
                datagram = self.socket.recv(65536)
            except (TimeoutError, socket.timeout):
                continue
            header, _, body = datagram.decode().partition("\n")
            assert json.loads(header) == HEADER, header
            with self._lock:
                self.documents.append(json.loads(body))

    def start(self) -> XRayDaemon:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._running = False
        self._thread.join()
        self.socket.close()

    def __enter__(self) -> XRayDaemon:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def clear(self) -> None:
        with self._lock:
            self.documents.clear()

    def segments(self) -> list[dict]:
        """Top-level segment documents (streamed subsegments have a `parent_id` and `type`)."""
        with self._lock:
            return [doc for doc in self.documents if doc.get("type") != "subsegment"]

    def wait_for(self, predicate, timeout: float = 10) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            segments = self.segments()
            if predicate(segments):
                return segments
            time.sleep(0.05)
        raise AssertionError(f"segments never matched within {timeout}s: {self.segments()}")


def walk(entity: dict):
    """A segment and all its nested subsegments."""
    yield entity
    for child in entity.get("subsegments", []):
        yield from walk(child)
