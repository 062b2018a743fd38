"""CloudWatch Logs: the app's JSON log lines in a log group, by one of two routes
(CLOUDWATCH_LOGS_EXPORT), with boto3's own credentials, region and endpoint:

- `watchtower`, the journal's: PutLogEvents from watchtower's thread. What watchtower does
  not do (bound its queue, make a missing group, count what arrived) is done from
  botocore's public event hooks on its client;
- `otlp`: OpenTelemetry's logs SDK, each record with its trace and span ids, signed with
  SigV4 to CloudWatch Logs' OTLP endpoint (the group and its stream must exist).
"""

import logging
import warnings

from flask import Flask
from opentelemetry import trace
from opentelemetry._logs import SeverityNumber

from cruddur.config import Settings
from cruddur.observability import otel, sigv4
from cruddur.observability.lifecycle import CountingExporter, Status, finished_within, tell_undelivered
from cruddur.observability.logs import BackgroundHandler, OncePerInterval, rate_limit

# Lines show within seconds, one call per interval, and a SIGKILLed worker loses at most this much.
SEND_INTERVAL_S = 5
MAX_BATCH_COUNT = 1000  # CloudWatch takes up to 10,000 events a call: 1,000 keeps calls small
# One stream per process, so gunicorn's workers never share one and a worker's lines stay together.
STREAM_NAME = "{machine_name}-{process_id}"
# While CloudWatch is away a worker holds at most this many lines; newer ones are dropped, counted.
MAX_QUEUED_EVENTS = 10_000

# Failed batches are told once a minute: CloudWatch down means one failure every few seconds.
delivery_logger = logging.getLogger(f"{__name__}.delivery")
delivery_logger.addFilter(OncePerInterval())


class PutLogEvents:
    """watchtower's calls, seen from botocore's hooks on its client (on watchtower's thread).
    The group and stream are made before the first send and after a send finds them gone:
    watchtower would make only the stream, dropping every line logged meanwhile."""

    def __init__(self, client, group: str):
        self.client, self.group = client, group
        self.emitted = self.sent = self.delivered = self.dropped = 0
        self.stream_made, self._last_batch = False, None
        for event, hook in (("provide-client-params", self.before_send), ("after-call", self.answered),
                            ("after-call-error", self.failed)):
            client.meta.events.register(f"{event}.cloudwatch-logs.PutLogEvents", hook)

    def before_send(self, params, context, **_) -> None:
        self.stream_made = self.stream_made or self.make_stream(params["logStreamName"])
        events = params.get("logEvents", [])
        context["cruddur_events"] = len(events)
        if events is not self._last_batch:  # a retry sends the same batch again
            self._last_batch = events
            self.sent += len(events)

    def make_stream(self, stream: str) -> bool:
        for call, names in (("create_log_group", {}), ("create_log_stream", {"logStreamName": stream})):
            try:
                getattr(self.client, call)(logGroupName=self.group, **names)
            except Exception as error:  # watchtower's thread must not die of it: the next send retries
                code = getattr(error, "response", {}).get("Error", {}).get("Code")
                # A role allowed to write only to a group made beforehand is no failure; an
                # unreachable CloudWatch is told by the send that follows.
                if code not in ("ResourceAlreadyExistsException", "AccessDeniedException"):
                    if code:
                        delivery_logger.warning("cloudwatch: could not make %s: %s", self.group, error)
                    return False
        return True

    def answered(self, http_response, parsed, context, **_) -> None:
        code = parsed.get("Error", {}).get("Code", "")
        if http_response.status_code == 200 and not parsed.get("rejectedLogEventsInfo"):
            self.delivered += context.get("cruddur_events", 0)
        elif code == "ResourceNotFoundException":  # not a failure: watchtower sends the batch again
            self.stream_made = False
        else:
            delivery_logger.warning("cloudwatch: %d log lines not delivered to %s: HTTP %d %s",
                                    context.get("cruddur_events", 0), self.group, http_response.status_code, code)

    def admit(self, record: logging.LogRecord) -> bool:
        """The handler's filter: a line joins watchtower's queue only while the queue has room."""
        if self.emitted - self.sent >= MAX_QUEUED_EVENTS:
            self.dropped += 1
            return False
        self.emitted += 1
        return True

    def failed(self, exception, context, **_) -> None:
        delivery_logger.warning("cloudwatch: %d log lines not delivered to %s: %s",
                                context.get("cruddur_events", 0), self.group, exception)


class OtlpLines(logging.Handler):
    """Each line as an OTLP log record (on BackgroundHandler's thread): the console's JSON line as
    its body, and the ids stamped on the request's thread."""

    def __init__(self, provider):
        super().__init__()
        self.provider, self.emitted = provider, 0

    def emit(self, record: logging.LogRecord) -> None:
        self.emitted += 1
        span = trace.INVALID_SPAN
        if record.trace_id:
            span = trace.NonRecordingSpan(trace.SpanContext(int(record.trace_id, 16), int(record.span_id, 16), False,
                                                            trace.TraceFlags(trace.TraceFlags.SAMPLED)))
        self.provider.get_logger(record.name).emit(
            timestamp=int(record.created * 1e9), context=trace.set_span_in_context(span),
            severity_text=record.levelname, severity_number=SeverityNumber(min(record.levelno // 10 * 4 + 1, 21)),
            body=self.format(record), attributes={"fields": getattr(record, "fields", {})})


def count_rejections(exporter: CountingExporter, session) -> None:
    """A 200 whose partialSuccess rejects records did not deliver those."""
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse

    def answered(response, **_) -> None:
        if response.status_code != 200:
            return
        try:
            partial = ExportLogsServiceResponse.FromString(response.content).partial_success
        except DecodeError:  # not the protobuf answer this route asked for: nothing to count
            return
        if partial.rejected_log_records:
            exporter.rejected += partial.rejected_log_records
            delivery_logger.warning("cloudwatch: %d log lines rejected: %s", partial.rejected_log_records,
                                    partial.error_message)

    session.hooks["response"].append(answered)


def init_otlp(settings: Settings, telemetry, log_handler: BackgroundHandler) -> Status:
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    group, stream = settings.cloudwatch_log_group, settings.cloudwatch_log_stream
    found = sigv4.otlp_endpoint("logs", "logs", "/v1/logs")
    if isinstance(found, str):
        return Status(False, found)
    endpoint, where = found
    # Every argument explicit: the exporter would read OTEL_EXPORTER_OTLP_*, which are Honeycomb's.
    exporter = CountingExporter(OTLPLogExporter(**endpoint, timeout=sigv4.CLIENT_CONFIG.read_timeout,
                                                headers={"x-aws-log-group": group, "x-aws-log-stream": stream}))
    count_rejections(exporter, endpoint["session"])
    provider = LoggerProvider(resource=otel.make_resource(), shutdown_on_exit=False)
    handler = OtlpLines(provider)
    rate_limit("opentelemetry.exporter.otlp.proto.http._log_exporter")

    def start() -> None:
        # Bounded by OTEL_BLRP_MAX_QUEUE_SIZE (2048), read by the processor itself.
        provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
        log_handler.add(handler)

    def stop(timeout_s: float) -> None:
        log_handler.remove(handler)
        finished_within(provider.shutdown, timeout_s, "cloudwatch-otlp-shutdown")
        tell_undelivered("cloudwatch", handler.emitted - exporter.delivered, handler.emitted, "log lines",
                         f" to {group} (rejected, dropped from a full queue, failed or unsent at exit)",
                         rejected=exporter.rejected)

    telemetry.starters.append(start)
    telemetry.stoppers.append(stop)
    return Status(True, f"log group {group}, stream {stream} over OTLP/HTTP to {where}")


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
    import watchtower

    # A warning per failed call, each with its own text: PutLogEvents tells them once a minute.
    warnings.filterwarnings("ignore", category=watchtower.WatchtowerWarning)
    calls = PutLogEvents(client, group)
    # No network here: the group is made by the sending thread, before its first send.
    handler = watchtower.CloudWatchLogHandler(log_group_name=group, log_stream_name=STREAM_NAME, boto3_client=client,
                                              send_interval=SEND_INTERVAL_S, max_batch_count=MAX_BATCH_COUNT,
                                              create_log_group=False)
    handler.addFilter(calls.admit)
    # Added once telemetry starts: watchtower starts its thread with the first line it gets.
    telemetry.starters.append(lambda: log_handler.add(handler))

    def stop(timeout_s: float) -> None:
        log_handler.remove(handler)
        handler.FLUSH_TIMEOUT = timeout_s
        handler.close()  # sends what is queued, waiting at most timeout_s
        client.close()
        tell_undelivered("cloudwatch", calls.emitted - calls.delivered + calls.dropped, calls.emitted + calls.dropped,
                         "log lines", f" to {group} ({calls.dropped} dropped from a full queue, the rest failed "
                         "or unsent at exit)", dropped=calls.dropped)

    telemetry.stoppers.append(stop)
    return Status(True, f"log group {group} in {session.region_name} via {client.meta.endpoint_url}")
