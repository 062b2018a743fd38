import uuid
from datetime import datetime, timezone

from sqlalchemy import Connection

from cruddur import store
from cruddur.errors import NotFound
from cruddur.store import queries
from cruddur.store.schema import activities


def find_activity(connection: Connection, activity_uuid: str, now: datetime) -> dict:
    """The crud with its replies; an expired one is gone."""
    found = queries.activities_where(connection, now, activities.c.uuid == uuid.UUID(activity_uuid))
    if not found:
        raise NotFound("activity_not_found")
    return found[0]


class ShowActivity:
    @staticmethod
    def run(activity_uuid: str) -> dict:
        with store.reading() as connection:
            return find_activity(connection, activity_uuid, datetime.now(timezone.utc))
