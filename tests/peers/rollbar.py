"""Rollbar's item API on loopback: records each item with the headers it came with."""
from __future__ import annotations

import json
import threading
import time

from tests.peers.http import LoopbackHTTPServer, QuietHandler

ITEM_PATH = "/api/1/item/"


class RollbarStandIn:
    """Accepts POST `<url>/api/1/item/` and answers as Rollbar does.

    `delay_s` makes it slow to read each item, so a test can tell whether the sender
    waited for it. `hold()` makes it keep each answer until `release()`, like a Rollbar
    that hangs; items are recorded as they are read either way.
    """

    def __init__(self, delay_s: float = 0.0):
        self.delay_s = delay_s
        self.received: list[dict] = []  # {"headers": {...}, "item": {...}, "raw": "..."}
        self._lock = threading.Lock()
        self._answering = threading.Event()
        self._answering.set()
        self._http = LoopbackHTTPServer(_Handler)
        self._http.server.stand_in = self
        self.url = self._http.url
        self.endpoint = f"{self.url}/api/1/"

    def start(self) -> RollbarStandIn:
        self._http.start()
        return self

    def stop(self) -> None:
        self.release()
        self._http.stop()

    def __enter__(self) -> RollbarStandIn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def hold(self) -> None:
        self._answering.clear()

    def release(self) -> None:
        self._answering.set()

    def items(self) -> list[dict]:
        with self._lock:
            return [entry["item"] for entry in self.received]

    def wait_for(self, count: int, timeout: float = 10) -> list[dict]:
        """The first `count` items, once they have arrived; fails the test after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            items = self.items()
            if len(items) >= count:
                return items
            time.sleep(0.02)
        raise AssertionError(f"{count} Rollbar items expected within {timeout}s, got {len(self.items())}")

    def record(self, headers: dict, raw: str) -> dict:
        item = json.loads(raw)
        with self._lock:
            self.received.append({"headers": headers, "item": item, "raw": raw})
        return item

    def answer_when_released(self) -> None:
        self._answering.wait()


class _Handler(QuietHandler):
    def do_POST(self) -> None:
        stand_in = self.server.stand_in
        time.sleep(stand_in.delay_s)
        body = self.read_body()
        if self.path != ITEM_PATH:
            self.reply(404, json.dumps({"err": 1, "message": "Not found"}).encode())
            return
        item = stand_in.record(dict(self.headers), body.decode())
        stand_in.answer_when_released()
        # Rollbar answers with the item's own uuid.
        self.reply(200, json.dumps({"err": 0, "result": {"id": None, "uuid": item["data"]["uuid"]}}).encode())
