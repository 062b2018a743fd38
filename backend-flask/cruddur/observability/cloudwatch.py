"""CloudWatch Logs: the app's JSON log lines shipped to a log group by watchtower.

boto3 finds the credentials, region and endpoint itself: environment, ~/.aws, or an
instance role; `AWS_ENDPOINT_URL_CLOUDWATCH_LOGS` (or `AWS_ENDPOINT_URL`) points it at
a stand-in such as moto. The handler, which sends from its own thread, is made on the
first request (after gunicorn's fork) and flushed when the process exits.
"""
from __future__ import annotations

import logging

from flask import Flask

from cruddur.config import Settings
from cruddur.observability import TELEMETRY, Status, logs

# Lines show up in the console within seconds, a busy worker still makes one call per
# interval rather than one per line, and a worker killed without a flush (SIGKILL) loses
# at most this much. CloudWatch takes up to 10,000 events a call; 1,000 keeps calls small.
SEND_INTERVAL_S = 5
MAX_BATCH_COUNT = 1000
# One stream per process, so gunicorn's workers never share one and a worker's lines stay together.
STREAM_NAME = "{machine_name}-{process_id}"
# gunicorn allows 10 s (graceful_timeout) after SIGTERM: logs get half of it when CloudWatch is down.
FLUSH_TIMEOUT_S = 5
# A blackholed endpoint must not hold the sending thread, or the shutdown flush, for minutes.
CONNECT_TIMEOUT_S = 2
READ_TIMEOUT_S = 5


def handler_class() -> type[logging.Handler]:
    import watchtower

    class Handler(watchtower.CloudWatchLogHandler):
        FLUSH_TIMEOUT = FLUSH_TIMEOUT_S

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
            if not self.shutting_down:
                super().emit(record)

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

    def stop(self) -> None:
        if self.handler is None:
            return
        self.handler.close()  # sends what is queued, waiting at most FLUSH_TIMEOUT_S
        self.client.close()


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
