"""(b) The week-2 journal's wiring, reproduced as its app.py had it, serving Cruddur's feed.

Set-up at import (in the gunicorn worker: no preload), module-level globals, a batch
OTLP exporter plus a synchronous console exporter, X-Ray's global recorder, watchtower
and an ERROR line per request, Rollbar. Departures, each forced: Flask 3 has no
`before_first_request`, so Rollbar is set up by the first request through a
`before_request` hook; Rollbar's endpoint comes from ROLLBAR_ENDPOINT so that it
stays on loopback. Everything else reads the environment exactly as the journal's did.
"""
import logging
import os
from datetime import datetime, timezone
from time import strftime

import rollbar
import rollbar.contrib.flask
import watchtower
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.ext.flask.middleware import XRayMiddleware
from flask import Flask, got_request_exception, request
from flask_cors import CORS
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

from bench.apps import feed

# Honeycomb
provider = TracerProvider()
processor = BatchSpanProcessor(OTLPSpanExporter())
provider.add_span_processor(processor)

simple_processor = SimpleSpanProcessor(ConsoleSpanExporter())
provider.add_span_processor(simple_processor)

trace.set_tracer_provider(provider)
tracer = trace.get_tracer(__name__)

# X-Ray
xray_url = os.getenv("AWS_XRAY_URL")
xray_recorder.configure(service='backend-flask', dynamic_naming=xray_url)

# CloudWatch Logs
LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.DEBUG)
console_handler = logging.StreamHandler()
cw_handler = watchtower.CloudWatchLogHandler(log_group='cruddur')
LOGGER.addHandler(console_handler)
LOGGER.addHandler(cw_handler)
LOGGER.info("test log")

app = Flask(__name__)
feed.init_app(app)
FlaskInstrumentor().instrument_app(app)
RequestsInstrumentor().instrument()
XRayMiddleware(app, xray_recorder)

frontend = os.getenv('FRONTEND_URL')
backend = os.getenv('BACKEND_URL')
origins = [frontend, backend]
cors = CORS(
  app,
  resources={r"/api/*": {"origins": origins}},
  expose_headers="location,link",
  allow_headers="content-type,if-modified-since",
  methods="OPTIONS,GET,HEAD,POST"
)

# Rollbar
rollbar_access_token = os.getenv('ROLLBAR_ACCESS_TOKEN')
rollbar_ready = False


@app.before_request
def init_rollbar():
    """init rollbar module (the journal's before_first_request)"""
    global rollbar_ready
    if rollbar_ready:
        return
    rollbar_ready = True
    rollbar.init(
        rollbar_access_token,
        'production',
        root=os.path.dirname(os.path.realpath(__file__)),
        allow_logging_basic_config=False,
        endpoint=os.getenv('ROLLBAR_ENDPOINT'))
    got_request_exception.connect(rollbar.contrib.flask.report_exception, app)


@app.after_request
def after_request(response):
    timestamp = strftime('[%Y-%b-%d %H:%M]')
    LOGGER.error('%s %s %s %s %s %s', timestamp, request.remote_addr, request.method, request.scheme,
                 request.full_path, response.status)
    return response


class HomeActivities:
    def run(logger):
        logger.info("HomeActivities")
        with tracer.start_as_current_span("home-activites-mock-data"):
            span = trace.get_current_span()
            results = feed.home_feed(datetime.now(timezone.utc).astimezone())
            span.set_attribute("app.result_length", len(results))
            return results


@app.route("/api/activities/home", methods=['GET'])
@xray_recorder.capture('activities_home')
def data_home():
    data = HomeActivities.run(logger=LOGGER)
    return data, 200
