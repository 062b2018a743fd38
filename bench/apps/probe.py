"""Cruddur's app with one part swapped or taken out (BENCH_PROBE), so that `python -m bench.callgrind`
can price that part: the difference between a probe and its base variant is what the part costs.

The app is Cruddur's own (`create_app()`, the environment the variant sets); only the part named
is changed afterwards, from outside, so backend-flask/ stays as shipped:

- `nologs`: Cruddur's loggers at WARNING, so a request writes no line (what the two lines cost);
- `orjson`: the console handler's formatter is JsonLines on python-json-logger's OrjsonFormatter;
- `hand`, `handorjson`: a minimal formatter of the same fields, by json.dumps or orjson.dumps;
- `nofilter`: python-json-logger's JsonFormatter alone (no trace id, no clip: the price of JsonLines' own step);
- `idonly`: JsonLines that sets the trace id only (the message is clipped by nobody);
- `noflush`: the handler leaves stdout's buffer to fill instead of flushing every line;
- `best`: `orjson` and `idonly` together;
- `nomiddleware`: the X-Ray SDK middleware's three hooks taken out (Cruddur's own X-Ray hook stays);
- `nosubsegment`: `xray_recorder.in_subsegment` a no-op (the journal's mock-data subsegment's price).
"""
import json
import logging
import os
import sys
from contextlib import contextmanager
from datetime import datetime, timezone

from pythonjsonlogger.json import JsonFormatter

from cruddur import create_app
from cruddur.observability import logs
from cruddur.observability.redact import clip

MODE = os.environ["BENCH_PROBE"]
# What every LogRecord has: the rest of its __dict__ is the caller's `extra`, written after the fixed fields.
STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "trace_id"}


class HandFormatter(logging.Formatter):
    """The fields python-json-logger writes for Cruddur: level, logger, message, the extras, trace_id, time."""

    def __init__(self, dumps):
        super().__init__()
        self.dumps = dumps

    def format(self, record: logging.LogRecord) -> str:
        line = {"level": record.levelname, "logger": record.name, "message": clip(record.getMessage())}
        line.update((name, value) for name, value in vars(record).items() if name not in STANDARD)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        line["trace_id"] = logs.trace_id()
        line["time"] = datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat()
        return self.dumps(line)


def orjson_dumps(line: dict) -> str:
    import orjson

    return orjson.dumps(line, default=str).decode()


def formatter(base: type[JsonFormatter]) -> JsonFormatter:
    """`base`, a python-json-logger formatter, writing the fields that JsonLines writes."""
    return base(**logs.JsonLines.ARGUMENTS)


def lines(base: type[JsonFormatter], clip_message: bool = True) -> JsonFormatter:
    """JsonLines' own step (the trace id, the message clipped or not) on `base`."""
    class Lines(base):
        def format(self, record: logging.LogRecord) -> str:
            record.trace_id = logs.trace_id()
            if clip_message:
                record.msg, record.args = clip(record.getMessage()), ()
            return super().format(record)

    return formatter(Lines)


def orjson_lines(clip_message: bool = True) -> JsonFormatter:
    from pythonjsonlogger.orjson import OrjsonFormatter

    return lines(OrjsonFormatter, clip_message)


def console_handler() -> logging.StreamHandler:
    (handler,) = [handler for handler in logging.getLogger().handlers
                  if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout]
    return handler


@contextmanager
def no_subsegment(name=None, **kwargs):
    class Nothing:
        def put_metadata(self, *args, **kwargs):
            pass

    yield Nothing()


def without_xray_middleware(app) -> None:
    for hooks in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
        hooks[None] = [hook for hook in hooks.get(None, [])
                       if type(getattr(hook, "__self__", None)).__name__ != "XRayMiddleware"]


app = create_app()
handler = console_handler()
if MODE == "nologs":
    logging.getLogger("cruddur").setLevel(logging.WARNING)
elif MODE == "orjson":
    handler.setFormatter(orjson_lines())
elif MODE == "hand":
    handler.setFormatter(HandFormatter(json.dumps))
elif MODE == "handorjson":
    handler.setFormatter(HandFormatter(orjson_dumps))
elif MODE == "nofilter":
    handler.setFormatter(formatter(JsonFormatter))
elif MODE == "idonly":
    handler.setFormatter(lines(JsonFormatter, clip_message=False))
elif MODE == "noflush":
    handler.flush = lambda: None  # stdout's own buffer writes when full, and at exit
elif MODE == "best":
    handler.setFormatter(orjson_lines(clip_message=False))
elif MODE == "nomiddleware":
    without_xray_middleware(app)
elif MODE == "nosubsegment":
    from aws_xray_sdk.core import xray_recorder

    xray_recorder.in_subsegment = no_subsegment
else:
    raise SystemExit(f"BENCH_PROBE={MODE!r}: no such probe")
