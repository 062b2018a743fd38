"""CloudWatch Logs: the app's JSON log lines shipped to a log group by watchtower.

boto3 finds the credentials, region and endpoint itself: environment, ~/.aws, or an
instance role; `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS` (or `AWS_ENDPOINT_URL`) points it at
a stand-in such as moto. The handler, which sends from its own thread, is made on the
first request (after gunicorn's fork) and flushed when the process exits.
"""
from __future__ import annotations

import logging
import queue
import warnings

from flask import Flask

from cruddur.config import Settings
from cruddur.observability import TELEMETRY, OncePerInterval, Status, logs

# Lines show up in the console within seconds, a busy worker still makes one call per
# interval rather than one per line, and a worker killed without a flush (SIGKILL) loses
# at most this much. CloudWatch takes up to 10,000 events a call; 1,000 keeps calls small.
SEND_INTERVAL_S = 5
MAX_BATCH_COUNT = 1000
# One stream per process, so gunicorn's workers never share one and a worker's lines stay together.
STREAM_NAME = "{machine_name}-{process_id}"
# While CloudWatch is away a worker holds at most this many lines (about 10 MB); past it the
# oldest go first, counted.
MAX_QUEUED_EVENTS = 10_000
# A blackholed endpoint must not hold the sending thread, or the shutdown flush, for minutes.
CONNECT_TIMEOUT_S = 2
READ_TIMEOUT_S = 5


logger = logging.getLogger(__name__)
# Failed batches are told once a minute: CloudWatch down means one failure every few seconds.
delivery_logger = logging.getLogger(f"{__name__}.delivery")
delivery_logger.addFilter(OncePerInterval(60))


def handler_class() -> type[logging.Handler]:
    import watchtower

    # watchtower warns on every failed call, each with its own text, so Python's warning
    # filter prints them all: the handler below tells a failed batch itself, once a minute.
    warnings.filterwarnings("ignore", category=watchtower.WatchtowerWarning)

    class Handler(watchtower.CloudWatchLogHandler):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.queued = self.dropped = self.delivered = 0
            self.last_error: object = None
            events = self.cwl_client.meta.events
            events.register("provide-client-params.cloudwatch-logs.PutLogEvents", self._note_batch_size)
            events.register("after-call.cloudwatch-logs.PutLogEvents", self._count_delivered)
            events.register("after-call-error.cloudwatch-logs.PutLogEvents", self._note_error)

        @staticmethod
        def _note_batch_size(params, context, **_) -> None:
            context["cruddur_events"] = len(params.get("logEvents", ()))

        def _count_delivered(self, http_response, context, **_) -> None:
            if http_response.status_code == 200:
                self.delivered += context.get("cruddur_events", 0)
            else:
                self.last_error = f"HTTP {http_response.status_code}"

        def _note_error(self, exception, **_) -> None:
            self.last_error = exception

        def _submit_batch(self, batch, log_stream_name, max_retries=5):
            delivered = self.delivered
            # watchtower catches only ClientError around making a missing stream: CloudWatch
            # unreachable at that moment (a connection error) would end its sending thread,
            # and with it all shipping until the process restarts.
            try:
                super()._submit_batch(batch, log_stream_name, max_retries)
            except Exception as error:
                self.last_error = error
            if batch and self.delivered == delivered:
                delivery_logger.warning("cloudwatch: %d log lines not delivered to %s: %s",
                                        len(batch), self.log_group_name, self.last_error)

        # watchtower drops every line emitted while its thread makes a stream (a guard
        # against botocore's own log lines coming back to it): with the group made on the
        # first send, that lost 7 to 18 access lines a run under load. This handler only
        # gets the cruddur logger's lines, which botocore never writes, so nothing is dropped.
        creating_log_stream = property(lambda self: False, lambda self, value: None)

        def _idempotent_call(self, method, *args, **kwargs):
            # watchtower 3.4 makes a missing stream when a send fails, but not a missing
            # group: make the group too, so lines still arrive when CloudWatch was
            # unreachable at start (or the group was deleted).
            try:
                super()._idempotent_call(method, *args, **kwargs)
            except self.cwl_client.exceptions.ResourceNotFoundException:
                if method != "create_log_stream":
                    raise
                super()._idempotent_call("create_log_group", logGroupName=self.log_group_name)
                super()._idempotent_call(method, *args, **kwargs)

        def emit(self, record: logging.LogRecord) -> None:
            # Lines logged after the last flush still reach stdout; watchtower would only warn.
            if self.shutting_down:
                return
            # watchtower's queue has no limit; its only other user, the sending thread, takes
            # from the front too. Sentinels (FLUSH, END) are queued only by close(), after
            # which nothing is emitted.
            for pending in self.queues.values():
                while pending.qsize() >= MAX_QUEUED_EVENTS:
                    try:
                        pending.get_nowait()
                    except queue.Empty:
                        break
                    pending.task_done()
                    self.dropped += 1
            super().emit(record)
            self.queued += 1

    return Handler


class Shipper:
    """The watchtower handler of one process: made on its first request, closed at its exit."""

    def __init__(self, client, group: str):
        self.client = client
        self.group = group
        self.handler: logging.Handler | None = None

    def start(self) -> None:
        # No network here: this runs on the first request. The group is made by the
        # handler's own thread when its first send finds it missing (see handler_class).
        self.handler = handler_class()(
            log_group_name=self.group, log_stream_name=STREAM_NAME, boto3_client=self.client,
            send_interval=SEND_INTERVAL_S, max_batch_count=MAX_BATCH_COUNT, create_log_group=False,
        )
        logs.add_handler(self.handler)

    def stop(self, timeout_s: float) -> None:
        if self.handler is None:
            return
        self.handler.FLUSH_TIMEOUT = timeout_s
        self.handler.close()  # sends what is queued, waiting at most timeout_s
        self.client.close()
        missing = self.handler.queued - self.handler.delivered
        if missing:
            logger.warning("cloudwatch: %d of %d log lines not delivered to %s (%d dropped from a full queue, "
                           "the rest failed or unsent at exit)", missing, self.handler.queued, self.group,
                           self.handler.dropped, extra={"fields": {
                               "integration": "cloudwatch", "not_delivered": missing,
                               "queued": self.handler.queued, "dropped": self.handler.dropped}})


def init_app(app: Flask, settings: Settings) -> Status:
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
        # Making a client opens no connection and starts no thread, so it is safe before a
        # fork; it tells the endpoint boto3 resolved, and rejects a malformed one now.
        client = session.client("logs", config=Config(connect_timeout=CONNECT_TIMEOUT_S,
                                                      read_timeout=READ_TIMEOUT_S))
    except (BotoCoreError, ValueError) as error:
        return Status(False, f"AWS configuration: {error}")

    shipper = Shipper(client, group)
    telemetry = app.extensions[TELEMETRY]
    telemetry.on_start(shipper.start)
    telemetry.on_shutdown(shipper.stop)
    return Status(True, f"log group {group} in {session.region_name} via {client.meta.endpoint_url}")
