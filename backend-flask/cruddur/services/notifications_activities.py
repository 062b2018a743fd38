from datetime import datetime, timezone

from opentelemetry import trace

from cruddur import store
from cruddur.store import queries
from cruddur.store.schema import activities


class NotificationsActivities:
    @staticmethod
    def run(user_handle: str) -> list[dict]:
        with store.reading() as connection:
            user = queries.find_user(connection, user_handle)
            results = queries.activities_where(
                connection, datetime.now(timezone.utc), activities.c.for_user_uuid == user.uuid) if user else []
        trace.get_current_span().set_attributes({"app.user_handle": user_handle, "app.result_length": len(results)})
        return results
