from datetime import datetime, timezone

from opentelemetry import trace

from cruddur import store
from cruddur.errors import NotFound
from cruddur.observability import xray
from cruddur.store import queries
from cruddur.store.schema import activities


class UserActivities:
    @staticmethod
    def run(user_handle: str) -> list[dict]:
        span = trace.get_current_span()
        with store.reading() as connection:
            user = queries.find_user(connection, user_handle)
            if user is None:
                span.set_attribute("app.user_found", False)
                raise NotFound("user_not_found")
            span.set_attribute("app.user_handle", user_handle)
            with xray.subsegment("mock-data") as subsegment:
                now = datetime.now(timezone.utc)
                results = queries.activities_where(connection, now, queries.public(),
                                                   activities.c.user_uuid == user.uuid)
                subsegment.put_metadata("key", {"now": now.isoformat(), "results-size": len(results)}, "namespace")
        span.set_attribute("app.result_length", len(results))
        return results
