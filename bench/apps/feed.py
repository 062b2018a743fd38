"""The home feed from Cruddur's store, so the fixtures run the same queries as Cruddur."""
from datetime import datetime

from flask import Flask

from cruddur import store
from cruddur.config import load_settings
from cruddur.store import queries


def init_app(app: Flask) -> None:
    store.init_app(app, load_settings())  # DATABASE_URL, or SQLite in the app's instance folder


def home_feed(now: datetime) -> list[dict]:
    with store.reading() as connection:
        return queries.activities_where(connection, now, queries.public())
