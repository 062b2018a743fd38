"""The loopback peers the tests use, and the environment that points a variant at them."""
from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bench.variants import Variant
from tests.peers.cloudwatch import REGION, MotoServer
from tests.peers.otlp import OtlpReceiver
from tests.peers.rollbar import RollbarStandIn
from tests.peers.xray import XRayDaemon

LOG_GROUP = "cruddur"  # the journal's, which hard-codes it
ROLLBAR_TOKEN = "bench-post-server-item-token"
# Variables that would turn an integration on from the caller's shell.
INTEGRATION_PREFIXES = ("OTEL_", "AWS_", "CLOUDWATCH_", "ROLLBAR_")


@dataclass
class Session:
    """One measurement's peers: a fresh OTLP receiver and X-Ray daemon, moto just reset."""

    variant: Variant
    receiver: OtlpReceiver
    daemon: XRayDaemon
    moto: MotoServer
    env: dict[str, str]

    def lost(self, answered: int, output: str) -> int | None:
        """Requests served without their access line, span or CloudWatch line; None for the fixtures.

        Counted once the worker has exited (and flushed). The worker's own stdout gives
        the number served (it has an access line for every request, unless it lost some:
        wrk's count of answers is the floor).
        """
        if not self.variant.cruddur:
            return None
        counts = [output.count('"logger": "cruddur.access"')]
        if "otlp" in self.variant.integrations:
            counts.append(sum(span["kind"] == "SERVER" for span in self.receiver.spans()))
        if self.variant.console:
            counts.append(output.count(" kind=SERVER "))
        if "cloudwatch" in self.variant.integrations:
            counts.append(sum(line["logger"] == "cruddur.access" for line in self.moto.lines(LOG_GROUP)))
        return max(answered, *counts) - min(counts)


class Peers:
    """moto and the Rollbar stand-in live for the whole benchmark; the rest per session."""

    def __init__(self):
        self.moto = MotoServer()
        self.rollbar = RollbarStandIn()

    def __enter__(self) -> Peers:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every call
        self.moto.start()
        self.rollbar.start()
        return self

    def __exit__(self, *exc) -> None:
        self.rollbar.stop()
        self.moto.stop()

    @contextmanager
    def session(self, variant: Variant) -> Iterator[Session]:
        self.moto.reset()
        with OtlpReceiver() as receiver, XRayDaemon() as daemon:
            yield Session(variant, receiver, daemon, self.moto, self.env(variant, receiver, daemon))

    def env(self, variant: Variant, receiver: OtlpReceiver, daemon: XRayDaemon) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if not name.startswith(INTEGRATION_PREFIXES)}
        env.update({
            # boto3 reads these itself: fake keys, moto as CloudWatch Logs, nothing from ~/.aws.
            "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_CONFIG_FILE": os.devnull, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": self.moto.url,
            "ROLLBAR_ENDPOINT": self.rollbar.endpoint,
            "FRONTEND_URL": "http://localhost:3000", "BACKEND_URL": "http://localhost:4567",
        })
        on = variant.integrations
        if "otlp" in on:
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.url
        elif variant.cruddur and not variant.console:
            env["OTEL_TRACES_EXPORTER"] = "none"
        if "xray" in on:
            env["AWS_XRAY_DAEMON_ADDRESS"] = daemon.address
        if "cloudwatch" in on:
            env["CLOUDWATCH_LOG_GROUP"] = LOG_GROUP
        if "rollbar" in on:
            env["ROLLBAR_ACCESS_TOKEN"] = ROLLBAR_TOKEN
        return env
