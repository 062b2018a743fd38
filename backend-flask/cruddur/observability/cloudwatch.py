"""CloudWatch Logs: the app's JSON log lines shipped to a log group, by one of two routes
(CLOUDWATCH_LOGS_EXPORT):

- `watchtower`, the journal's: PutLogEvents from watchtower's thread;
- `otlp`: OpenTelemetry's logs SDK, each record with its trace and span ids, signed with
  SigV4 to CloudWatch Logs' OTLP endpoint (the group and its stream must exist).

boto3 finds the credentials, region and endpoint itself: environment, ~/.aws, or an
instance role; `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS` (or `AWS_ENDPOINT_URL`) points it at
a stand-in such as moto. watchtower sends from its own thread; what it cannot do itself
(bound its queue, make a missing group, count what arrived) is done from botocore's
public event hooks on its client, never from watchtower's internals.
"""
from __future__ import annotations

import logging
import threading
import warnings

from flask import Flask
from opentelemetry import context, trace

from cruddur.config import Settings
from cruddur.observability import otel, sigv4
from cruddur.observability.lifecycle import Status, finished_within, tell_undelivered
from cruddur.observability.logs import BackgroundHandler, OncePerInterval, rate_limit
from cruddur.observability.redact import redact_url

# Lines show up in the console within seconds, a busy worker still makes one call per
# interval rather than one per line, and a worker killed without a flush (SIGKILL) loses
# at most this much. CloudWatch takes up to 10,000 events a call; 1,000 keeps calls small.
SEND_INTERVAL_S = 5
MAX_BATCH_COUNT = 1000
# One stream per process, so gunicorn's workers never share one and a worker's lines stay together.
STREAM_NAME = "{machine_name}-{process_id}"
# While CloudWatch is away a worker holds at most this many lines (about 10 MB); past it
# new lines are dropped, counted.
MAX_QUEUED_EVENTS = 10_000

# Failed batches are told once a minute: CloudWatch down means one failure every few seconds.
delivery_logger = logging.getLogger(f"{__name__}.delivery")
delivery_logger.addFilter(OncePerInterval())


class Counts:
    """What one handler was given, and what CloudWatch took, from the client's PutLogEvents calls."""

    def __init__(self, group: str):
        self.group = group
        self.emitted = self.sent = self.delivered = self.dropped = 0
        self._last_batch = None
        self._lock = threading.Lock()

    @property
    def queued(self) -> int:
        return self.emitted - self.sent

    def batch_taken(self, params, context, **_) -> None:
        events = params.get("logEvents", [])
        context["cruddur_events"] = len(events)
        with self._lock:
            if events is not self._last_batch:  # a retry sends the same batch again
                self._last_batch = events
                self.sent += len(events)

    def batch_answered(self, http_response, parsed, context, **_) -> None:
        if http_response.status_code == 200 and not parsed.get("rejectedLogEventsInfo"):
            with self._lock:
                self.delivered += context.get("cruddur_events", 0)
        # A missing stream is not a failure: watchtower makes it and sends the batch again.
        elif parsed.get("Error", {}).get("Code") != "ResourceNotFoundException":
            delivery_logger.warning("cloudwatch: %d log lines not delivered to %s: HTTP %d %s",
                                    context.get("cruddur_events", 0), self.group, http_response.status_code,
                                    parsed.get("Error", {}).get("Code", ""))

    def batch_failed(self, exception, context, **_) -> None:
        delivery_logger.warning("cloudwatch: %d log lines not delivered to %s: %s",
                                context.get("cruddur_events", 0), self.group, exception)


def make_the_stream_first(client, group: str) -> None:
    """botocore hooks: before watchtower's first PutLogEvents (and again after one finds the
    stream gone), the group and the stream are made, each left as it is when it exists.

    watchtower would make only a missing stream, never a missing group, and it drops every
    line logged while it makes one: with gunicorn, the lines of a busy worker's fifth second.
    """
    made = []

    def make(params, **_) -> None:
        if made:
            return
        for call, names in (("create_log_group", {}), ("create_log_stream", {"logStreamName": params["logStreamName"]})):
            try:
                getattr(client, call)(logGroupName=group, **names)
            except Exception as error:  # watchtower's thread must not die of it: the next send retries
                code = getattr(error, "response", {}).get("Error", {}).get("Code")
                # A role allowed to write only to a group made beforehand is no failure; an
                # unreachable CloudWatch is told by the send that follows.
                if code not in ("ResourceAlreadyExistsException", "AccessDeniedException"):
                    if code:
                        delivery_logger.warning("cloudwatch: could not make %s: %s", group, error)
                    return
        made.append(True)

    def forget(parsed, **_) -> None:
        if parsed.get("Error", {}).get("Code") == "ResourceNotFoundException":
            made.clear()

    client.meta.events.register("provide-client-params.cloudwatch-logs.PutLogEvents", make)
    client.meta.events.register("after-call.cloudwatch-logs.PutLogEvents", forget)


def handler_class() -> type[logging.Handler]:
    import watchtower

    # watchtower warns on every failed call, each with its own text, so Python's warning
    # filter prints them all: the hooks above tell a failed batch once a minute instead.
    warnings.filterwarnings("ignore", category=watchtower.WatchtowerWarning)

    class Handler(watchtower.CloudWatchLogHandler):
        def __init__(self, counts: Counts, **kwargs):
            super().__init__(**kwargs)
            self.counts = counts

        def emit(self, record: logging.LogRecord) -> None:
            if self.counts.queued >= MAX_QUEUED_EVENTS:
                self.counts.dropped += 1
                return
            self.counts.emitted += 1
            super().emit(record)

    return Handler


class OtlpCounts:
    """What the otlp route was given, and what the endpoint took: a 200 whose partialSuccess
    rejects records did not deliver those."""

    def __init__(self, group: str):
        self.group = group
        self.emitted = self.delivered = self.rejected = 0

    def answered(self, response, **_) -> None:
        """requests' response hook on the signed session, on the exporting thread."""
        from google.protobuf.message import DecodeError
        from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

        if response.status_code == 200 and response.content:
            try:
                partial = ExportLogsServiceResponse.FromString(response.content).partial_success
            except DecodeError:  # not the protobuf answer this route asked for: nothing to count
                return
            if partial.rejected_log_records:
                self.rejected += partial.rejected_log_records
                delivery_logger.warning("cloudwatch: %d log lines rejected by %s: %s", partial.rejected_log_records,
                                        self.group, partial.error_message)


def otlp_classes(counts: OtlpCounts):
    """The logs SDK's handler and exporter, made to carry each record's own trace and count deliveries.

    `opentelemetry.sdk._logs` is the SDK's only import path for its logs SDK (still under
    development, hence the underscore); its LoggingHandler is deprecated for the one in
    opentelemetry-instrumentation-logging, used here.
    """
    from opentelemetry.instrumentation.logging.handler import LoggingHandler
    from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult

    class Handler(LoggingHandler):
        """Emits on logs.BackgroundHandler's thread. The body is the JSON line the console and
        watchtower get; the ids stamped on the record in the request's thread become the OTLP
        record's trace and span ids, and its structured fields its attributes."""

        def emit(self, record: logging.LogRecord) -> None:
            counts.emitted += 1
            line = self.formatter.format(record)  # JsonFormatter, set by BackgroundHandler.add
            fields = {key: value for key, value in vars(record).items() if key not in ("trace_id", "span_id")}
            plain = logging.makeLogRecord({**fields, "msg": line, "args": (), "exc_info": None, "exc_text": None})
            trace_id, span_id = getattr(record, "trace_id", None), getattr(record, "span_id", None)
            span_context = trace.INVALID_SPAN_CONTEXT
            if trace_id and span_id:
                span_context = trace.SpanContext(int(trace_id, 16), int(span_id, 16), is_remote=False,
                                                 trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED))
            token = context.attach(trace.set_span_in_context(trace.NonRecordingSpan(span_context)))
            try:
                super().emit(plain)
            finally:
                context.detach(token)

        def format(self, record: logging.LogRecord) -> str:
            return record.getMessage()  # already the JSON line

    class Exporter(LogRecordExporter):
        def __init__(self, exporter: LogRecordExporter):
            self.exporter = exporter

        def export(self, batch) -> LogRecordExportResult:
            rejected = counts.rejected
            result = self.exporter.export(batch)
            if result is LogRecordExportResult.SUCCESS:  # one batch at a time, so the difference is this batch's
                counts.delivered += len(batch) - (counts.rejected - rejected)
            return result

        def force_flush(self, timeout_millis: int = 30_000) -> bool:
            return self.exporter.force_flush(timeout_millis)

        def shutdown(self) -> None:
            self.exporter.shutdown()

    return Handler, Exporter


def init_otlp(settings: Settings, telemetry, log_handler: BackgroundHandler) -> Status:
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    group, stream = settings.cloudwatch_log_group, settings.cloudwatch_log_stream
    endpoint = sigv4.otlp_endpoint("logs", "logs", "/v1/logs")
    if isinstance(endpoint, str):
        return Status(False, endpoint)
    counts = OtlpCounts(group)
    endpoint.session.hooks["response"].append(counts.answered)
    handler_class_, exporter_class = otlp_classes(counts)
    # Every argument explicit: the exporter would read OTEL_EXPORTER_OTLP_*, which are Honeycomb's.
    exporter = exporter_class(OTLPLogExporter(endpoint=endpoint.url, timeout=sigv4.CLIENT_CONFIG.read_timeout, session=endpoint.session,
                                              headers={"x-aws-log-group": group, "x-aws-log-stream": stream}))
    provider = LoggerProvider(resource=otel.make_resource(), shutdown_on_exit=False)
    handler = handler_class_(logger_provider=provider)
    rate_limit("opentelemetry.exporter.otlp.proto.http._log_exporter", "opentelemetry.instrumentation.logging")

    def start() -> None:
        # Bounded by OTEL_BLRP_MAX_QUEUE_SIZE (2048), read by the processor itself.
        provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
        log_handler.add(handler)

    def stop(timeout_s: float) -> None:
        log_handler.remove(handler)
        finished_within(provider.shutdown, timeout_s, "cloudwatch-otlp-shutdown")
        tell_undelivered("cloudwatch", counts.emitted - counts.delivered, counts.emitted, "log lines",
                         f" to {group} (rejected, dropped from a full queue, failed or unsent at exit)",
                         rejected=counts.rejected)

    telemetry.on_start(start)
    telemetry.on_shutdown(stop)
    return Status(True, f"log group {group}, stream {stream} over OTLP/HTTP to {redact_url(endpoint.url)} (SigV4, {endpoint.region})")


def init_app(app: Flask, settings: Settings, telemetry, log_handler: BackgroundHandler) -> Status:
    group, mode = settings.cloudwatch_log_group, settings.cloudwatch_logs_export
    if mode is None:
        return Status(False, "set CLOUDWATCH_LOG_GROUP (e.g. cruddur) to ship logs")
    if mode not in ("watchtower", "otlp"):
        return Status(False, f"CLOUDWATCH_LOGS_EXPORT is {mode!r}: use watchtower or otlp")
    if not group:
        return Status(False, f"CLOUDWATCH_LOGS_EXPORT is {mode}: set CLOUDWATCH_LOG_GROUP (e.g. cruddur)")
    if mode == "otlp":
        return init_otlp(settings, telemetry, log_handler)

    found = sigv4.aws_session("logs")
    if isinstance(found, str):
        return Status(False, found)
    session, _, client = found

    counts = Counts(group)
    events = client.meta.events
    events.register("provide-client-params.cloudwatch-logs.PutLogEvents", counts.batch_taken)
    events.register("after-call.cloudwatch-logs.PutLogEvents", counts.batch_answered)
    events.register("after-call-error.cloudwatch-logs.PutLogEvents", counts.batch_failed)
    make_the_stream_first(client, group)
    # No network here: the group is made by the sending thread when its first send finds it missing.
    handler = handler_class()(counts, log_group_name=group, log_stream_name=STREAM_NAME, boto3_client=client,
                              send_interval=SEND_INTERVAL_S, max_batch_count=MAX_BATCH_COUNT,
                              create_log_group=False)
    # Added once telemetry starts: watchtower starts its thread with the first line it gets.
    telemetry.on_start(lambda: log_handler.add(handler))

    def stop(timeout_s: float) -> None:
        log_handler.remove(handler)
        handler.FLUSH_TIMEOUT = timeout_s
        handler.close()  # sends what is queued, waiting at most timeout_s
        client.close()
        tell_undelivered("cloudwatch", counts.emitted - counts.delivered + counts.dropped,
                         counts.emitted + counts.dropped, "log lines", f" to {group} ({counts.dropped} dropped "
                         "from a full queue, the rest failed or unsent at exit)", dropped=counts.dropped)

    telemetry.on_shutdown(stop)
    return Status(True, f"log group {group} in {session.region_name} via {client.meta.endpoint_url}")
