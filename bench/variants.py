"""What is measured side by side: the fixtures, the four peers and Cruddur's configurations."""
from __future__ import annotations

from dataclasses import dataclass

CRUDDUR = "app:app"
BARE = "bench.apps.bare:app"
ALL = frozenset({"otlp", "xray", "cloudwatch", "rollbar"})


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    app: str
    # The integrations whose peers the variant is pointed at.
    integrations: frozenset[str] = frozenset()
    # Cruddur prints spans when no OTLP endpoint is set, unless told OTEL_TRACES_EXPORTER=none.
    console: bool = False
    # A peer: its virtualenv in bench/agents/, and the agent's launcher gunicorn runs under.
    agent: str | None = None
    launcher: tuple[str, ...] = ()
    # X-Ray and CloudWatch Logs through their OTLP endpoints instead of the daemon and watchtower.
    aws_otlp: bool = False
    store: str = "sqlite"

    @property
    def cruddur(self) -> bool:
        return self.app == CRUDDUR


VARIANTS = [
    Variant("a", "bare Flask, no telemetry", BARE),
    Variant("b", "the journal's wiring", "bench.apps.journal:app", ALL),
    Variant("c", "Cruddur, all four, the journal's daemon route", CRUDDUR, ALL),
    Variant("c2", "Cruddur, all four, X-Ray and CloudWatch through OTLP", CRUDDUR, ALL, aws_otlp=True),
    Variant("d", "Cruddur, no accounts (console spans)", CRUDDUR, console=True),
    Variant("e1", "Cruddur, OpenTelemetry (OTLP) alone", CRUDDUR, frozenset({"otlp"})),
    Variant("e2", "Cruddur, X-Ray alone", CRUDDUR, frozenset({"xray"})),
    Variant("e3", "Cruddur, CloudWatch Logs alone", CRUDDUR, frozenset({"cloudwatch"})),
    Variant("e4", "Cruddur, Rollbar alone", CRUDDUR, frozenset({"rollbar"})),
    Variant("f", "Cruddur, exporting nothing (OTEL_TRACES_EXPORTER=none)", CRUDDUR),
    Variant("p1", "peer: OpenTelemetry zero-code agent (OTLP/HTTP)", BARE, agent="otel",
            launcher=("opentelemetry-instrument",)),
    Variant("p2", "peer: ADOT Python (OTLP/HTTP)", BARE, agent="adot", launcher=("opentelemetry-instrument",)),
    Variant("p3", "peer: ddtrace-run", BARE, agent="ddtrace", launcher=("ddtrace-run",)),
    Variant("p4", "peer: sentry-sdk, traces_sample_rate=1.0", "bench.apps.sentry:app", agent="sentry"),
    Variant("apg", "bare Flask, PostgreSQL", BARE, store="postgresql"),
    Variant("cpg", "Cruddur, all four (daemon route), PostgreSQL", CRUDDUR, ALL, store="postgresql"),
]
BY_KEY = {variant.key: variant for variant in VARIANTS}
PEERS = [variant.key for variant in VARIANTS if variant.agent]
