"""What is measured side by side: the fixtures and Cruddur's configurations."""
from __future__ import annotations

from dataclasses import dataclass

CRUDDUR = "app:app"
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

    @property
    def cruddur(self) -> bool:
        return self.app == CRUDDUR


VARIANTS = [
    Variant("a", "bare Flask, no telemetry", "bench.apps.bare:app"),
    Variant("b", "the journal's wiring", "bench.apps.journal:app", ALL),
    Variant("c", "Cruddur, all four integrations", CRUDDUR, ALL),
    Variant("d", "Cruddur, no accounts (console spans)", CRUDDUR, console=True),
    Variant("e1", "Cruddur, OpenTelemetry (OTLP) alone", CRUDDUR, frozenset({"otlp"})),
    Variant("e2", "Cruddur, X-Ray alone", CRUDDUR, frozenset({"xray"})),
    Variant("e3", "Cruddur, CloudWatch Logs alone", CRUDDUR, frozenset({"cloudwatch"})),
    Variant("e4", "Cruddur, Rollbar alone", CRUDDUR, frozenset({"rollbar"})),
    Variant("f", "Cruddur, exporting nothing (OTEL_TRACES_EXPORTER=none)", CRUDDUR),
]
BY_KEY = {variant.key: variant for variant in VARIANTS}
