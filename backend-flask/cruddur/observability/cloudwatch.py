"""CloudWatch Logs, the journal's route: the app's JSON log lines shipped to a log group by watchtower.

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

from cruddur.config import Settings
from cruddur.observability.lifecycle import Status
from cruddur.observability.logs import BackgroundHandler, OncePerInterval

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
# A blackholed endpoint must not hold the sending thread, or the shutdown flush, for minutes.
CONNECT_TIMEOUT_S = 2
READ_TIMEOUT_S = 5

logger = logging.getLogger(__name__)
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
        else:
            delivery_logger.warning("cloudwatch: %d log lines not delivered to %s: HTTP %d %s",
                                    context.get("cruddur_events", 0), self.group, http_response.status_code,
                                    parsed.get("Error", {}).get("Code", ""))

    def batch_failed(self, exception, context, **_) -> None:
        delivery_logger.warning("cloudwatch: %d log lines not delivered to %s: %s",
                                context.get("cruddur_events", 0), self.group, exception)


def make_group_when_missing(client, group: str) -> None:
    """botocore hook: when watchtower's CreateLogStream finds no group, make the group and the stream.

    watchtower makes a missing stream but not a missing group, so lines would never arrive
    when CloudWatch was unreachable at start or the group was deleted.
    """
    def note_stream(params, context, **_) -> None:
        context["cruddur_stream"] = params["logStreamName"]

    def make_group(parsed, context, **_) -> None:
        if parsed.get("Error", {}).get("Code") != "ResourceNotFoundException":
            return
        for make, names in (("create_log_group", {}), ("create_log_stream", {"logStreamName": context["cruddur_stream"]})):
            try:
                getattr(client, make)(logGroupName=group, **names)
            except client.exceptions.ResourceAlreadyExistsException:
                pass
            except Exception as error:  # watchtower's thread must not die of it: the next send retries
                delivery_logger.warning("cloudwatch: could not make %s: %s", group, error)
                return

    events = client.meta.events
    events.register("provide-client-params.cloudwatch-logs.CreateLogStream", note_stream)
    events.register("after-call.cloudwatch-logs.CreateLogStream", make_group)


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


def init_app(app: Flask, settings: Settings, telemetry, log_handler: BackgroundHandler) -> Status:
    group = settings.cloudwatch_log_group
    if not group:
        return Status(False, "set CLOUDWATCH_LOG_GROUP (e.g. cruddur) to ship logs")

    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    try:
        session = boto3.Session()
        if not session.region_name:
            return Status(False, "no AWS region: set AWS_DEFAULT_REGION (or region in ~/.aws/config)")
        # Walks boto3's chain; only a container or instance role makes it reach the network.
        if session.get_credentials() is None:
            return Status(False, "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                                 "AWS_PROFILE, or give the host a role")
        # Making a client opens no connection and starts no thread; it tells the endpoint
        # boto3 resolved, and rejects a malformed one now.
        client = session.client("logs", config=Config(connect_timeout=CONNECT_TIMEOUT_S,
                                                      read_timeout=READ_TIMEOUT_S))
    except (BotoCoreError, ValueError) as error:
        return Status(False, f"AWS configuration: {error}")

    counts = Counts(group)
    events = client.meta.events
    events.register("provide-client-params.cloudwatch-logs.PutLogEvents", counts.batch_taken)
    events.register("after-call.cloudwatch-logs.PutLogEvents", counts.batch_answered)
    events.register("after-call-error.cloudwatch-logs.PutLogEvents", counts.batch_failed)
    make_group_when_missing(client, group)
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
        missing = counts.emitted - counts.delivered + counts.dropped
        if missing:
            logger.warning("cloudwatch: %d of %d log lines not delivered to %s (%d dropped from a full queue, "
                           "the rest failed or unsent at exit)", missing, counts.emitted + counts.dropped, group,
                           counts.dropped, extra={"fields": {
                               "integration": "cloudwatch", "not_delivered": missing,
                               "queued": counts.emitted + counts.dropped, "dropped": counts.dropped}})

    telemetry.on_shutdown(stop)
    return Status(True, f"log group {group} in {session.region_name} via {client.meta.endpoint_url}")
