"""moto's server standing in for CloudWatch Logs on loopback, and a reader for what it holds."""
from __future__ import annotations

import json
import threading

import boto3
import requests
from moto.server import ThreadedMotoServer

REGION = "us-east-1"


class MotoServer:
    """`hold()` makes it keep each request until `release()`, like a CloudWatch that hangs;
    `held` lists the actions it kept waiting."""

    def __init__(self, port: int = 0):
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._answering = threading.Event()
        self._answering.set()
        self.held: list[str] = []

    def start(self) -> MotoServer:
        self._server.start()
        app = self._server._server.app  # moto's WSGI app, behind a gate

        def gated(environ, start_response):
            if not self._answering.is_set():
                self.held.append(environ.get("HTTP_X_AMZ_TARGET", environ["PATH_INFO"]))
                self._answering.wait()
            return app(environ, start_response)

        self._server._server.app = gated
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        self.reset()
        self.client = boto3.client("logs", endpoint_url=self.url, region_name=REGION,
                                   aws_access_key_id="reader", aws_secret_access_key="reader")
        return self

    def hold(self) -> None:
        self.held = []
        self._answering.clear()

    def release(self) -> None:
        self._answering.set()

    def stop(self) -> None:
        self.release()
        self.client.close()
        self._server.stop()

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget every log group. moto keeps its state per process, not per server."""
        requests.post(f"{self.url}/moto-api/reset", timeout=5).raise_for_status()

    def groups(self) -> list[str]:
        return [group["logGroupName"] for group in self.client.describe_log_groups()["logGroups"]]

    def events(self, group: str) -> list[dict]:
        """Every event of the group, oldest first, as `{"stream", "message"}` with the raw message."""
        pages = self.client.get_paginator("filter_log_events").paginate(logGroupName=group)
        return [{"stream": event["logStreamName"], "message": event["message"]}
                for page in pages for event in page["events"]]

    def lines(self, group: str) -> list[dict]:
        """The group's events parsed as the app's JSON lines, each with its stream."""
        return [{**json.loads(event["message"]), "stream": event["stream"]} for event in self.events(group)]
