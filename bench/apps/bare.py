"""(a) The limit: plain Flask serving Cruddur's home feed, with no telemetry at all."""
from datetime import datetime, timezone

from flask import Flask

from bench.apps import feed

app = Flask(__name__)
app.json.sort_keys = False  # as Cruddur, so both serialise the same bytes
feed.init_app(app)


@app.get("/api/activities/home")
def home():
    return feed.home_feed(datetime.now(timezone.utc))
