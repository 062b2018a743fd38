"""(a) The limit: plain Flask serving Cruddur's home feed, with no telemetry at all."""
from datetime import datetime, timezone

from flask import Flask

from cruddur import data

app = Flask(__name__)
app.json.sort_keys = False  # as Cruddur, so both serialise the same bytes


@app.get("/api/activities/home")
def home():
    return data.home_activities(datetime.now(timezone.utc))
