"""CloudWatch Logs, by one of two routes (CLOUDWATCH_LOGS_EXPORT), with boto3's credentials, region
and endpoint: `watchtower`, the journal's (its handler on the root logger sends the JSON lines from
its own thread, a stream per worker, with the bound on its queue that it lacks), or `otlp`
(OpenTelemetry's logging handler and batch processor, each record with its trace and span ids,
signed with SigV4; the group and its stream must exist)."""
import contextlib
import logging
import os
import platform

import watchtower
from botocore.exceptions import BotoCoreError, ClientError
from flask import Flask
from opentelemetry import trace
from opentelemetry._logs import set_logger_provider
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

from cruddur.config import Settings
from cruddur.observability import logs, sigv4

# CloudWatch takes up to 10,000 events a call: 1,000 keeps calls small.
MAX_BATCH_COUNT = 1000


def init_app(app: Flask, settings: Settings, first_app: bool) -> tuple[bool, str]:
    group, mode = settings.cloudwatch_log_group, settings.cloudwatch_logs_export
    if mode is None:
        return False, "set CLOUDWATCH_LOG_GROUP (e.g. cruddur) to ship logs"
    if mode not in ("watchtower", "otlp"):
        return False, f"CLOUDWATCH_LOGS_EXPORT is {mode!r}: use watchtower or otlp"
    if not group:
        return False, f"CLOUDWATCH_LOGS_EXPORT is {mode}: set CLOUDWATCH_LOG_GROUP (e.g. cruddur)"
    if mode == "otlp":
        found = sigv4.otlp_endpoint("logs", "/v1/logs")
        if isinstance(found, str):
            return False, found
        endpoint, where = found
        if first_app:
            provider = LoggerProvider(resource=trace.get_tracer_provider().resource)
            # Explicit arguments: the exporter would read OTEL_EXPORTER_OTLP_*, which are Honeycomb's.
            provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter(
                **endpoint, timeout=sigv4.EXPORT_TIMEOUT_S,
                headers={"x-aws-log-group": group, "x-aws-log-stream": settings.cloudwatch_log_stream})))
            set_logger_provider(provider)
            logging.getLogger().addHandler(LoggingHandler(logger_provider=provider))
        return True, f"log group {group}, stream {settings.cloudwatch_log_stream} over OTLP/HTTP to {where}"

    found = sigv4.aws_client("logs")
    if isinstance(found, str):
        return False, found
    client, _ = found
    where = f"log group {group} in {client.meta.region_name} via {client.meta.endpoint_url}"
    if first_app:
        stream = f"{platform.node()}-{os.getpid()}"  # one per worker, so each worker's lines stay together
        options = dict(log_group_name=group, log_stream_name=stream, boto3_client=client,
                       send_interval=settings.cloudwatch_send_interval_s, max_batch_count=MAX_BATCH_COUNT)
        try:
            handler = watchtower.CloudWatchLogHandler(create_log_group=True, **options)
            # The stream too, now: watchtower drops the lines logged while its first send makes it.
            with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                client.create_log_stream(logGroupName=group, logStreamName=stream)
        except (BotoCoreError, ClientError) as error:  # unreachable, or a role that may only write
            handler = watchtower.CloudWatchLogHandler(create_log_group=False, **options)
            where += f" (could not make the group and stream: {error})"
        logging.captureWarnings(True)  # watchtower tells its failures as warnings
        handler.setFormatter(logs.JsonLines())
        logging.getLogger().addHandler(bounded(handler, settings))
    return True, where


def bounded(handler: watchtower.CloudWatchLogHandler, settings: Settings) -> watchtower.CloudWatchLogHandler:
    """The bound that watchtower's queue lacks: while CloudWatch is away, newer records are dropped."""
    def queue_has_room(record: logging.LogRecord) -> bool:
        return sum(queue.qsize() for queue in handler.queues.values()) < settings.cloudwatch_max_queued_lines

    handler.addFilter(queue_has_room)
    handler.FLUSH_TIMEOUT = 2  # its close at exit waits this long (observability.shutdown's budget)
    return handler
