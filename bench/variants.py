"""What is measured side by side: the fixtures, the four peers and Cruddur's configurations,
and the probes that take Cruddur's cost apart (callgrind only: `python -m bench.callgrind`)."""
from __future__ import annotations

from dataclasses import dataclass

CRUDDUR = "app:app"
BARE = "bench.apps.bare:app"
PROBE = "bench.apps.probe:app"  # Cruddur's app with one part swapped or taken out (BENCH_PROBE)
ALL = frozenset({"otlp", "xray", "cloudwatch", "rollbar"})
HOME = "/api/activities/home"
USER = "/api/activities/@andrewbrown"  # the route with the journal's mock-data subsegment


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    app: str
    # The integrations whose peers the variant is pointed at ("metrics": OTLP metrics alone).
    integrations: frozenset[str] = frozenset()
    # Cruddur prints spans when no OTLP endpoint is set, unless told OTEL_TRACES_EXPORTER=none.
    console: bool = False
    # A peer: its virtualenv in bench/agents/, and the agent's launcher gunicorn runs under.
    agent: str | None = None
    launcher: tuple[str, ...] = ()
    # X-Ray and CloudWatch Logs through their OTLP endpoints instead of the daemon and watchtower.
    aws_otlp: bool = False
    store: str = "sqlite"
    # More variables for the worker (a probe's BENCH_PROBE, a sampling rule...), and the path served.
    env: tuple[tuple[str, str], ...] = ()
    path: str = HOME
    # In `python -m bench`'s default run (issue 23's targets need these); the others on request.
    default: bool = True

    @property
    def cruddur(self) -> bool:
        return self.app in (CRUDDUR, PROBE)


def probe(key: str, label: str, base: Variant, **changes) -> Variant:
    """`base` with one change, for callgrind: a BENCH_PROBE mode of bench/apps/probe.py, a rule, a path."""
    mode = changes.pop("mode", None)
    env = base.env + ((("BENCH_PROBE", mode),) if mode else ()) + changes.pop("env", ())
    return Variant(key, label, PROBE if mode else base.app, changes.pop("integrations", base.integrations),
                   base.console, base.agent, base.launcher, base.aws_otlp, base.store, env,
                   changes.pop("path", base.path), default=False)


VARIANTS = [
    Variant("a", "bare Flask, no telemetry", BARE),
    Variant("b", "the journal's wiring", "bench.apps.journal:app", ALL, default=False),
    Variant("c", "Cruddur, all four, the journal's daemon route", CRUDDUR, ALL),
    Variant("c2", "Cruddur, all four, X-Ray and CloudWatch through OTLP", CRUDDUR, ALL, aws_otlp=True),
    Variant("d", "Cruddur, no accounts (console spans)", CRUDDUR, console=True),
    Variant("e1", "Cruddur, OpenTelemetry (OTLP) alone", CRUDDUR, frozenset({"otlp"})),
    Variant("e2", "Cruddur, X-Ray alone (daemon route)", CRUDDUR, frozenset({"xray"}), default=False),
    Variant("e3", "Cruddur, CloudWatch Logs alone", CRUDDUR, frozenset({"cloudwatch"}), default=False),
    Variant("e4", "Cruddur, Rollbar alone", CRUDDUR, frozenset({"rollbar"}), default=False),
    Variant("f", "Cruddur, exporting nothing (OTEL_TRACES_EXPORTER=none, OTEL_METRICS_EXPORTER=none)", CRUDDUR),
    Variant("m", "Cruddur, metrics alone (OTLP), spans made but not exported", CRUDDUR, frozenset({"metrics"})),
    Variant("p1", "peer: OpenTelemetry zero-code agent (OTLP/HTTP)", BARE, agent="otel",
            launcher=("opentelemetry-instrument",)),
    Variant("p2", "peer: ADOT Python (OTLP/HTTP)", BARE, agent="adot", launcher=("opentelemetry-instrument",)),
    Variant("p3", "peer: ddtrace-run", BARE, agent="ddtrace", launcher=("ddtrace-run",)),
    Variant("p4", "peer: sentry-sdk, traces_sample_rate=1.0", "bench.apps.sentry:app", agent="sentry"),
    Variant("apg", "bare Flask, PostgreSQL", BARE, store="postgresql", default=False),
    Variant("cpg", "Cruddur, all four (daemon route), PostgreSQL", CRUDDUR, ALL, store="postgresql", default=False),
]
_BY_KEY = {variant.key: variant for variant in VARIANTS}
# X-Ray's sampling rule as aws/json/xray.json words it, every request or none (bench.peers writes them):
# the daemon route's cost per sampled and per unsampled request, whatever share the reservoir takes.
ALL_SAMPLED, NONE_SAMPLED = (("BENCH_XRAY_RULE", "all"),), (("BENCH_XRAY_RULE", "none"),)
C, C2, D, F, M, E1, E2, P1 = (_BY_KEY[key] for key in ("c", "c2", "d", "f", "m", "e1", "e2", "p1"))
SMALL_BATCH = (("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "64"),)
PROBES = [
    # The SDK's batch of 512 spans against 64: p99 and lost spans under load (wrk), instructions a request (callgrind).
    probe("c-batch64", "(c) with batches of 64 spans", C, env=SMALL_BATCH),
    probe("e1-batch64", "(e1) with batches of 64 spans", E1, env=SMALL_BATCH),
    # What metrics (issue 25) add to the rows whose targets issue 23 set before there were any.
    *(probe(f"{base.key}-nometrics", f"({base.key}) without metrics (OTEL_METRICS_EXPORTER=none, no EMF)", base,
            env=(("OTEL_METRICS_EXPORTER", "none"), ("CLOUDWATCH_METRICS", "false"))) for base in (E1, D, C, C2)),
    # What stands between (e1) and (c2) and their limits: the log lines, the metrics, each AWS route.
    probe("e1-nologs", "(e1) without its log lines (Cruddur's loggers at WARNING)", E1, mode="nologs"),
    probe("e1-bare", "(e1) without its log lines or metrics", E1, mode="nologs",
          env=(("OTEL_METRICS_EXPORTER", "none"), ("CLOUDWATCH_METRICS", "false"))),
    probe("c2-noxray", "(c2) without X-Ray's OTLP route", C2, integrations=ALL - {"xray"}),
    probe("c2-nocloudwatch", "(c2) without CloudWatch's OTLP route", C2, integrations=ALL - {"cloudwatch"}),
    # (p1) as a user runs it with Honeycomb since issue 25, like for like with Cruddur's rows: metrics too.
    probe("p1-metrics", "(p1) with its metrics over OTLP too (OTEL_METRICS_EXPORTER=otlp)", P1,
          integrations=frozenset({"metrics"})),
    probe("m-noexemplars", "(m) without exemplars (OTEL_METRICS_EXEMPLAR_FILTER=always_off)", M,
          env=(("OTEL_METRICS_EXEMPLAR_FILTER", "always_off"),)),
    # The two JSON lines a request (HomeActivities and the access line), on (f): nothing exported.
    probe("f-nologs", "(f) without its log lines (Cruddur's loggers at WARNING)", F, mode="nologs"),
    probe("f-orjson", "(f), lines by python-json-logger's OrjsonFormatter", F, mode="orjson"),
    probe("f-hand", "(f), lines by a minimal hand formatter (json.dumps)", F, mode="hand"),
    probe("f-handorjson", "(f), lines by a minimal hand formatter (orjson.dumps)", F, mode="handorjson"),
    probe("f-nofilter", "(f), python-json-logger's JsonFormatter alone (no trace id, no clip)", F, mode="nofilter"),
    probe("f-idonly", "(f), JsonLines sets the trace id only (no clip)", F, mode="idonly"),
    probe("f-noflush", "(f), the handler flushes stdout only when its buffer fills", F, mode="noflush"),
    probe("f-best", "(f), JsonLines on OrjsonFormatter, the trace id only (no clip)", F, mode="best"),
    # The daemon route's parts: every request sampled or none, the middleware taken out, the mock-data subsegment.
    probe("e2-all", "(e2), every request sampled", E2, env=ALL_SAMPLED),
    probe("e2-none", "(e2), no request sampled", E2, env=NONE_SAMPLED),
    probe("e2-nomw", "(e2) without the X-Ray middleware's hooks", E2, mode="nomiddleware"),
    probe("f-user", "(f) on the user feed", F, path=USER),
    probe("e2-user", "(e2), every request sampled, on the user feed (mock-data subsegment)", E2,
          env=ALL_SAMPLED, path=USER),
    probe("e2-user-nosub", "(e2-user) with in_subsegment a no-op", E2, mode="nosubsegment", env=ALL_SAMPLED,
          path=USER),
]
BY_KEY = {variant.key: variant for variant in VARIANTS + PROBES}
PEERS = [variant.key for variant in VARIANTS if variant.agent]
DEFAULT = [variant.key for variant in VARIANTS if variant.default]
