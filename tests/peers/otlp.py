"""An OTLP/HTTP receiver: decodes traces as protobuf (the backend's) and JSON (the browser's), and
the backend's metrics (protobuf)."""
from __future__ import annotations

import base64
import json
import threading
import time

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from google.protobuf.json_format import MessageToDict

from tests.peers.http import LoopbackHTTPServer, QuietHandler

KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}


def last_points(points: list[dict], name: str) -> dict:
    """The newest cumulative point of each (worker, attributes) series of `name`."""
    series = {}
    for point in points:
        if point["name"] == name:
            series[point["resource"]["service.instance.id"], json.dumps(point["attributes"], sort_keys=True)] = point
    return series


def _value(any_value: dict):
    """An OTLP AnyValue, as MessageToDict or OTLP/JSON spells it, as a Python value."""
    if not any_value:
        return None
    (kind, value), = any_value.items()
    if kind == "intValue":
        return int(value)
    if kind == "arrayValue":
        return [_value(item) for item in value.get("values", [])]
    if kind == "kvlistValue":  # a log record's map attribute
        return _attributes(value.get("values"))
    return value


def _attributes(items: list[dict]) -> dict:
    return {item["key"]: _value(item.get("value", {})) for item in items or []}


def _hex(value: str, from_base64: bool) -> str:
    if not value:
        return ""
    return base64.b64decode(value).hex() if from_base64 else value.lower()


class OtlpReceiver:
    """Collects every span sent to `<url>/v1/traces` and every metric data point sent to
    `<url>/v1/metrics`, with the headers of each export."""

    handler = None  # the request handler class; _Handler, set below

    def __init__(self, cors_origins: list[str] | None = None, status: int = 200):
        self.cors_origins = cors_origins or []
        self.status = status
        self.requests: list[dict] = []
        self._spans: list[dict] = []
        self._points: list[dict] = []
        self._lock = threading.Lock()
        self._http = LoopbackHTTPServer(self.handler or _Handler)
        self._http.server.receiver = self
        self.url = self._http.url

    def start(self) -> OtlpReceiver:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def spans(self) -> list[dict]:
        with self._lock:
            return list(self._spans)

    def points(self) -> list[dict]:
        with self._lock:
            return list(self._points)

    def wait_for_points(self, predicate, timeout: float = 15) -> list[dict]:
        """Data points once `predicate(points)` holds; fails the test after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            points = self.points()
            if predicate(points):
                return points
            time.sleep(0.05)
        raise AssertionError(f"data points never matched within {timeout}s: {sorted({p['name'] for p in self.points()})}")

    def record_metrics(self, headers: dict, payload: dict) -> None:
        """Each data point with its metric's name, kind and unit, its resource and its attributes; a
        histogram's count, sum, bucket counts and exemplars (trace and span ids in hex), a sum's value."""
        points = []
        for resource_metrics in payload.get("resourceMetrics", []):
            resource = _attributes(resource_metrics.get("resource", {}).get("attributes"))
            for scope_metrics in resource_metrics.get("scopeMetrics", []):
                for metric in scope_metrics.get("metrics", []):
                    kind = next(key for key in ("histogram", "sum", "gauge") if key in metric)
                    for point in metric[kind].get("dataPoints", []):
                        value = ({"count": int(point.get("count", 0)), "sum": point.get("sum", 0.0),
                                  "bucket_counts": [int(count) for count in point.get("bucketCounts", [])]}
                                 if kind == "histogram" else {"value": point.get("asDouble", int(point.get("asInt", 0)))})
                        points.append({
                            "name": metric["name"], "kind": kind, "unit": metric.get("unit", ""),
                            "resource": resource, "attributes": _attributes(point.get("attributes")), **value,
                            "exemplars": [{"trace_id": _hex(exemplar.get("traceId", ""), True),
                                           "span_id": _hex(exemplar.get("spanId", ""), True)}
                                          for exemplar in point.get("exemplars", [])]})
        with self._lock:
            self.requests.append({"headers": headers, "point_count": len(points)})
            self._points.extend(points)

    def wait_for(self, predicate, timeout: float = 15) -> list[dict]:
        """Spans once `predicate(spans)` holds; fails the test after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            spans = self.spans()
            if predicate(spans):
                return spans
            time.sleep(0.05)
        raise AssertionError(f"spans never matched within {timeout}s: {[s['name'] for s in self.spans()]}")

    def record(self, headers: dict, payload: dict, from_base64: bool) -> None:
        spans = []
        for resource_spans in payload.get("resourceSpans", []):
            resource = _attributes(resource_spans.get("resource", {}).get("attributes"))
            for scope_spans in resource_spans.get("scopeSpans", []):
                for span in scope_spans.get("spans", []):
                    kind = span.get("kind", 0)
                    spans.append({
                        "trace_id": _hex(span.get("traceId", ""), from_base64),
                        "span_id": _hex(span.get("spanId", ""), from_base64),
                        "parent_span_id": _hex(span.get("parentSpanId", ""), from_base64),
                        "name": span["name"],
                        "kind": KINDS[kind] if isinstance(kind, int) else kind.removeprefix("SPAN_KIND_"),
                        "attributes": _attributes(span.get("attributes")),
                        "duration_s": (int(span.get("endTimeUnixNano", 0)) - int(span.get("startTimeUnixNano", 0))) / 1e9,
                        "service_name": resource.get("service.name"),
                        "resource": resource,
                        "scope": scope_spans.get("scope", {}).get("name"),
                    })
        with self._lock:
            self.requests.append({"headers": headers, "span_count": len(spans)})
            self._spans.extend(spans)


class _Handler(QuietHandler):
    def _cors_headers(self) -> dict[str, str]:
        origin = self.headers.get("Origin")
        if origin and origin in self.server.receiver.cors_origins:
            return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": "POST",
                    "Access-Control-Allow-Headers": "content-type", "Vary": "Origin"}
        return {}

    def do_OPTIONS(self) -> None:
        self.reply(204, headers=self._cors_headers())

    def do_POST(self) -> None:
        receiver = self.server.receiver
        body = self.read_body()
        if self.path not in ("/v1/traces", "/v1/metrics"):
            self.reply(404)
            return
        if receiver.status != 200:
            self.reply(receiver.status, headers=self._cors_headers())
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        if self.path == "/v1/metrics":
            receiver.record_metrics(headers, MessageToDict(ExportMetricsServiceRequest.FromString(body)))
            self.reply(200, ExportMetricsServiceResponse().SerializeToString(), "application/x-protobuf")
            return
        if headers.get("content-type", "").startswith("application/json"):
            receiver.record(headers, json.loads(body), from_base64=False)
            self.reply(200, b"{}", headers=self._cors_headers())
        else:
            request = ExportTraceServiceRequest.FromString(body)
            receiver.record(headers, MessageToDict(request), from_base64=True)
            self.reply(200, ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf",
                       self._cors_headers())
