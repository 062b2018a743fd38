"""`python -m bench.record`: what recording a metric costs next to a span, on the SDK alone.

A request's SERVER span (started and ended, its attributes, a batch processor exporting nowhere)
against what the Flask instrumentation records for it: one `http.server.request.duration` point
(with and without its exemplar) and one `http.server.active_requests` addition. Best of 5 rounds
of 20,000 each, on one thread: the ratios are the figures, the microseconds move with the machine.
"""
from __future__ import annotations

import timeit

from opentelemetry import trace
from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

ROUTE = {"http.request.method": "GET", "http.route": "/api/activities/home", "http.response.status_code": 200,
         "url.scheme": "http", "network.protocol.version": "1.1"}
SPAN = {**ROUTE, "url.path": "/api/activities/home", "server.address": "127.0.0.1", "server.port": 4567,
        "client.address": "127.0.0.1", "user_agent.original": "python-requests/2.34.2"}
ACTIVE = {"http.request.method": "GET", "url.scheme": "http"}
# The semantic conventions' buckets, as the Flask instrumentation advises them.
BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]


class Nowhere(SpanExporter):
    def export(self, spans) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def microseconds(call, number: int = 20_000) -> float:
    return min(timeit.repeat(call, number=number, repeat=5)) / number * 1e6


def main() -> None:
    tracers = TracerProvider()
    tracers.add_span_processor(BatchSpanProcessor(Nowhere()))
    tracer = tracers.get_tracer("bench")
    context = trace.set_span_in_context(tracer.start_span("request"))  # a sampled request's, for exemplars
    meters = {exemplars: MeterProvider(metric_readers=[InMemoryMetricReader()],
                                       **({} if exemplars else {"exemplar_filter": AlwaysOffExemplarFilter()}))
              for exemplars in (True, False)}
    duration = {exemplars: provider.get_meter("bench").create_histogram(
        "http.server.request.duration", unit="s", explicit_bucket_boundaries_advisory=BUCKETS)
        for exemplars, provider in meters.items()}
    active = meters[True].get_meter("bench").create_up_down_counter("http.server.active_requests")

    span = microseconds(lambda: tracer.start_span("GET /api/activities/home", attributes=SPAN).end())
    print(f"a span, started and ended (11 attributes): {span:.2f} µs")
    for label, call in (
            ("a duration point, with its exemplar", lambda: duration[True].record(0.012, ROUTE, context=context)),
            ("a duration point, no exemplar", lambda: duration[False].record(0.012, ROUTE, context=context)),
            ("an active-requests addition, with its exemplar", lambda: active.add(1, ACTIVE, context=context))):
        cost = microseconds(call)
        print(f"{label}: {cost:.2f} µs, {cost / span:.2f}× a span")
    for provider in (tracers, *meters.values()):
        provider.shutdown()


if __name__ == "__main__":
    main()
