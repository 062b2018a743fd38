"""Rollbar, set up as its Flask quick-start does: unhandled exceptions and messages, each with its
request, person and trace id, scrubbed by the one secret policy, sent from the SDK's own threads.
What the SDK lacks, a bound on the items on their way while Rollbar is slow, is a payload handler."""
from pathlib import Path

import rollbar
import rollbar.contrib.flask
from flask import Flask, got_request_exception, has_request_context, request
from rollbar.lib.transforms.scrub import ScrubTransform

from cruddur.config import Settings
from cruddur.observability.logs import RateLimit, trace_id
from cruddur.observability.redact import is_secret, redact_url


BACKEND_DIR = Path(__file__).resolve().parents[2]
# A send ends within its connect and read timeouts: one begun twice this long ago is over.
SEND_TIMEOUT_S = 2


class ScrubSecrets(ScrubTransform):
    """Masks every field whose name the secret policy calls secret (headers, form, query)."""

    def in_scrub_fields(self, key) -> bool:
        return bool(key) and bool(is_secret(str(key[-1])))


def init_app(app: Flask, settings: Settings, first_app: bool) -> tuple[bool, str]:
    if not settings.rollbar_access_token:
        return False, "set ROLLBAR_ACCESS_TOKEN to report errors"
    endpoint = settings.rollbar_endpoint or rollbar.DEFAULT_ENDPOINT
    if first_app:
        rollbar.init(settings.rollbar_access_token, settings.rollbar_environment, endpoint=endpoint,
                     root=str(BACKEND_DIR), handler="thread", timeout=SEND_TIMEOUT_S,
                     scrub_fields=[], custom_transforms=[ScrubSecrets()],  # one policy, as for logs and spans
                     allow_logging_basic_config=False,  # logs.py owns logging
                     locals={"enabled": False},  # locals can hold raw bodies and tokens under any name
                     log_payload_on_error=False)  # the SDK would log the whole item on a 429 or 413
        # Only items begun in the last 2 timeouts can be on their way: at most this many begin in any such span.
        sending = RateLimit(2 * SEND_TIMEOUT_S, settings.rollbar_max_pending_items)

        def complete_item(payload: dict, **_) -> dict | bool:
            """Runs on the reporting thread, before the item is handed to a sending thread."""
            if sending.wait_s():
                return False  # dropped: a burst of errors, or Rollbar slow, would pile items up
            # The token travels in the X-Rollbar-Access-Token header; in the body it would be one more copy.
            payload.pop("access_token", None)
            data = payload["data"]
            if has_request_context():
                route = request.url_rule.rule if request.url_rule else None
                data.update(context=route, person={"id": settings.current_user_handle})
                data.setdefault("request", {}).update(route=route, url=redact_url(data["request"].get("url", "")))
            data.setdefault("custom", {})["trace_id"] = trace_id()
            return payload

        rollbar.events.add_payload_handler(complete_item)
    got_request_exception.connect(rollbar.contrib.flask.report_exception, app)
    return True, f"environment {settings.rollbar_environment}, items to {redact_url(endpoint)}"
