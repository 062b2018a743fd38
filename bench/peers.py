"""The loopback peers the tests use, two sinks for the agents' own backends, a throwaway
PostgreSQL, and the environment that points a variant at them."""
from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.variants import Variant
from tests.peers.aws_otlp import SignedOtlpEndpoint
from tests.peers.cloudwatch import REGION, MotoServer
from tests.peers.http import LoopbackHTTPServer, QuietHandler
from tests.peers.otlp import OtlpReceiver
from tests.peers.postgres import PostgresServer
from tests.peers.rollbar import RollbarStandIn
from tests.peers.xray import XRayDaemon

REPO = Path(__file__).resolve().parent.parent
ACCESS_LINE = re.compile(r'"logger": ?"cruddur\.access"')  # json.dumps's separators, or orjson's

LOG_GROUP = "cruddur"  # the journal's, which hard-codes it
ROLLBAR_TOKEN = "bench-post-server-item-token"
AWS_KEY, AWS_SECRET = "bench", "bench"
# Variables that would turn an integration on from the caller's shell.
INTEGRATION_PREFIXES = ("OTEL_", "AWS_", "CLOUDWATCH_", "ROLLBAR_", "DD_", "SENTRY_", "XRAY_")
# ddtrace's extras that would reach out, or cost what the other peers do not do.
DDTRACE_ENV = {"DD_REMOTE_CONFIGURATION_ENABLED": "false", "DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
               "DD_TRACE_STARTUP_LOGS": "false", "DD_PROFILING_ENABLED": "false", "DD_SERVICE": "backend-flask"}


class Sink:
    """An HTTP server counting what an agent sends to `paths`, answering each with 200 `{}`."""

    def __init__(self, paths: tuple[str, ...]):
        self.paths = paths
        self.requests = self.items = self.bytes = self.db_spans = 0
        self._lock = threading.Lock()
        self._http = LoopbackHTTPServer(_SinkHandler)
        self._http.server.sink = self
        # An agent may reset its connection as its worker exits: no traceback on the bench's output.
        self._http.server.handle_error = lambda request, address: None
        self.url = self._http.url

    def count(self, headers, body: bytes) -> int:
        return 1

    def queries(self, body: bytes) -> int:
        """The database spans in a payload."""
        return 0

    def record(self, headers, body: bytes) -> None:
        with self._lock:
            self.requests += 1
            self.bytes += len(body)
            self.items += self.count(headers, body)
            self.db_spans += self.queries(body)

    def __enter__(self) -> Sink:
        self._http.start()
        return self

    def __exit__(self, *exc) -> None:
        self._http.stop()


class DatadogAgent(Sink):
    """The Datadog agent's trace intake: ddtrace PUTs msgpack, its trace count in a header."""

    def __init__(self):
        super().__init__(("/v0.4/traces", "/v0.5/traces"))

    def count(self, headers, body: bytes) -> int:
        return int(headers.get("X-Datadog-Trace-Count", 0))

    def queries(self, body: bytes) -> int:
        return body.count(b"sqlite.query") + body.count(b"sqlalchemy.query")  # msgpack keeps names as bytes


class SentryIngest(Sink):
    """Sentry's envelope endpoint for project 1; counts the transactions in the envelopes."""

    def __init__(self):
        super().__init__(("/api/1/envelope/",))
        self.dsn = self.url.replace("http://", "http://bench-public-key@") + "/1"

    def count(self, headers, body: bytes) -> int:
        return body.count(b'"type":"transaction"')

    def queries(self, body: bytes) -> int:
        return body.count(b'"op":"db"')


class _SinkHandler(QuietHandler):
    def _take(self) -> None:
        sink = self.server.sink
        body = self.read_body()
        if self.path.split("?")[0] not in sink.paths:
            self.reply(404)
            return
        sink.record(self.headers, body)
        self.reply(200, b"{}")

    do_PUT = do_POST = _take

    def do_GET(self) -> None:
        self.reply(404)  # ddtrace's /info: no agent features, so it sends only traces


@dataclass
class Session:
    """One measurement's peers: fresh receivers and sinks, moto just reset."""

    variant: Variant
    receiver: OtlpReceiver
    daemon: XRayDaemon
    moto: MotoServer
    xray: SignedOtlpEndpoint
    logs: SignedOtlpEndpoint
    datadog: DatadogAgent
    sentry: SentryIngest
    env: dict[str, str]

    def received(self) -> int | None:
        """What a peer's sink got (spans, traces, transactions), or X-Ray's sampled spans over
        OTLP; None where the access lines and spans are counted one by one instead."""
        agent = self.variant.agent
        if agent in ("otel", "adot"):
            return sum(span["kind"] == "SERVER" for span in self.receiver.spans())
        if agent == "ddtrace":
            return self.datadog.items
        if agent == "sentry":
            return self.sentry.items
        if self.variant.aws_otlp:
            return sum(span["kind"] == "SERVER" for span in self.xray.spans())
        return None

    def db_spans(self) -> float | None:
        """Database spans per traced request at the variant's sink: each app should trace its two
        SELECTs once (like for like); None where no sink shows them."""
        agent = self.variant.agent
        if agent in ("otel", "adot") or "otlp" in self.variant.integrations:
            spans = self.receiver.spans()
            servers = sum(span["kind"] == "SERVER" for span in spans)
            db = sum(any(name.startswith("db.") for name in span["attributes"]) for span in spans)
            return db / servers if servers else None
        sink = {"ddtrace": self.datadog, "sentry": self.sentry}.get(agent)
        return sink.db_spans / sink.items if sink and sink.items else None

    def lost(self, answered: int, output: str) -> int | None:
        """Requests served without their access line, span or CloudWatch line; None for the fixtures.

        Counted once the worker has exited (and flushed). The worker's own stdout gives
        the number served (it has an access line for every request, unless it lost some:
        wrk's count of answers is the floor).
        """
        if not self.variant.cruddur:
            return None
        counts = [len(ACCESS_LINE.findall(output))]
        if "otlp" in self.variant.integrations:
            counts.append(sum(span["kind"] == "SERVER" for span in self.receiver.spans()))
        if self.variant.console:
            counts.append(output.count(" kind=SERVER "))
        if "cloudwatch" in self.variant.integrations and self.variant.aws_otlp:
            # OpenTelemetry's logging handler: the message is the body, the access line's `extra` its attributes.
            counts.append(sum("duration_ms" in record["attributes"] for record in self.logs.records()))
        elif "cloudwatch" in self.variant.integrations:
            counts.append(sum(line.get("logger") == "cruddur.access" for line in self.moto.lines(LOG_GROUP)))
        return max(answered, *counts) - min(counts)


class Peers:
    """moto, the Rollbar stand-in and PostgreSQL (once asked for) live for the whole benchmark;
    the rest per session."""

    def __init__(self):
        self.moto = MotoServer()
        self.rollbar = RollbarStandIn()
        self.postgres: PostgresServer | None = None
        self._stack = ExitStack()

    def __enter__(self) -> Peers:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every call
        self.moto.start()
        self.rollbar.start()
        return self

    def __exit__(self, *exc) -> None:
        self.rollbar.stop()
        self.moto.stop()
        self._stack.close()

    def database_url(self) -> str:
        """A fresh database on the benchmark's PostgreSQL, started the first time."""
        if self.postgres is None:
            self.postgres = self._stack.enter_context(PostgresServer())
        return self.postgres.fresh_database()

    @contextmanager
    def session(self, variant: Variant) -> Iterator[Session]:
        self.moto.reset()
        keys = {AWS_KEY: (AWS_SECRET, None)}
        with ExitStack() as stack:
            peers = [stack.enter_context(peer) for peer in (
                OtlpReceiver(), XRayDaemon(), SignedOtlpEndpoint("xray", REGION, keys),
                SignedOtlpEndpoint("logs", REGION, keys), DatadogAgent(), SentryIngest())]
            receiver, daemon, xray, logs, datadog, sentry = peers
            env = self.env(variant, *peers)
            if variant.store == "sqlite":
                # A database of its own, seeded afresh: the instance folder's is shared with whatever else
                # runs Cruddur here (tests add cruds), and the feed's size would drift between measurements.
                folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="cruddur-bench-db-"))
                env["DATABASE_URL"] = f"sqlite:///{folder}/cruddur.db"
            yield Session(variant, receiver, daemon, self.moto, xray, logs, datadog, sentry, env)

    def env(self, variant: Variant, receiver: OtlpReceiver, daemon: XRayDaemon, xray: SignedOtlpEndpoint,
            logs: SignedOtlpEndpoint, datadog: DatadogAgent, sentry: SentryIngest) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if not name.startswith(INTEGRATION_PREFIXES)}
        env.update({
            # boto3 reads these itself: fake keys, moto as CloudWatch Logs, nothing from ~/.aws.
            "AWS_ACCESS_KEY_ID": AWS_KEY, "AWS_SECRET_ACCESS_KEY": AWS_SECRET, "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_CONFIG_FILE": os.devnull, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": self.moto.url,
            "ROLLBAR_ENDPOINT": self.rollbar.endpoint,
            "FRONTEND_URL": "http://localhost:3000", "BACKEND_URL": "http://localhost:4567",
        })
        env.pop("DATABASE_URL", None)
        if variant.store == "postgresql":
            env["DATABASE_URL"] = self.database_url()
        if variant.agent in ("otel", "adot"):
            # OTLP/HTTP traces, as Cruddur's OTLP route sends; metrics too when asked ("metrics").
            env.update({"OTEL_SERVICE_NAME": "backend-flask", "OTEL_TRACES_EXPORTER": "otlp",
                        "OTEL_METRICS_EXPORTER": "otlp" if "metrics" in variant.integrations else "none",
                        "OTEL_LOGS_EXPORTER": "none", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{receiver.url}/v1/traces",
                        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": f"{receiver.url}/v1/metrics"})
        if variant.agent == "otel":
            # bootstrap's list has sqlite3's instrumentation too, which would trace each query a second time
            # under SQLAlchemy's: the documented switch leaves one span a query, as Cruddur (and ADOT) make.
            env["OTEL_PYTHON_DISABLED_INSTRUMENTATIONS"] = "sqlite3"
        if variant.agent == "adot":
            env.update({"OTEL_PYTHON_DISTRO": "aws_distro", "OTEL_PYTHON_CONFIGURATOR": "aws_configurator"})
        if variant.agent == "ddtrace":
            env.update({"DD_TRACE_AGENT_URL": datadog.url, **DDTRACE_ENV})
        if variant.agent == "sentry":
            env["SENTRY_DSN"] = sentry.dsn
        on = variant.integrations
        if "otlp" in on:
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.url  # spans and metrics, as with Honeycomb
        elif variant.cruddur and not variant.console:
            env["OTEL_TRACES_EXPORTER"] = "none"
            if "metrics" in on:
                env["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"] = f"{receiver.url}/v1/metrics"
            else:
                env["OTEL_METRICS_EXPORTER"] = "none"
        if "xray" in on and variant.aws_otlp:
            env.update({"XRAY_EXPORT": "otlp", "AWS_ENDPOINT_URL_XRAY": xray.url})
        elif "xray" in on:
            env["AWS_XRAY_DAEMON_ADDRESS"] = daemon.address
        if "cloudwatch" in on:
            env["CLOUDWATCH_LOG_GROUP"] = LOG_GROUP
        if "cloudwatch" in on and variant.aws_otlp:
            env.update({"CLOUDWATCH_LOGS_EXPORT": "otlp", "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": logs.url})
        if "rollbar" in on:
            env["ROLLBAR_ACCESS_TOKEN"] = ROLLBAR_TOKEN
        env.update(variant.env)
        if rule := env.pop("BENCH_XRAY_RULE", None):
            env["AWS_XRAY_SAMPLING_RULE_FILE"] = str(self.xray_rule(rule))
        return env

    def xray_rule(self, which: str) -> Path:
        """aws/json/xray.json with no reservoir and a rate of 1 ("all") or 0 ("none"), in a temp file."""
        rule = json.loads((REPO / "aws" / "json" / "xray.json").read_text())
        rule["SamplingRule"].update(ReservoirSize=0, FixedRate={"all": 1.0, "none": 0.0}[which])
        path = Path(self._stack.enter_context(tempfile.TemporaryDirectory(prefix="cruddur-rule-"))) / "xray.json"
        path.write_text(json.dumps(rule))
        return path
