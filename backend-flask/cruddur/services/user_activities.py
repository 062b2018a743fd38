from datetime import datetime, timezone

from opentelemetry import trace

from cruddur import data
from cruddur.errors import NotFound
from cruddur.observability import xray


class UserActivities:
    @staticmethod
    def run(user_handle: str) -> list[dict]:
        span = trace.get_current_span()
        if user_handle not in data.USERS:
            span.set_attribute("app.user_found", False)
            raise NotFound("user_not_found")
        span.set_attribute("app.user_handle", user_handle)
        with xray.subsegment("mock-data") as subsegment:
            now = datetime.now(timezone.utc)
            results = [item for item in data.home_activities(now) if item["handle"] == user_handle]
            subsegment.put_metadata("key", {"now": now.isoformat(), "results-size": len(results)}, "namespace")
        span.set_attribute("app.result_length", len(results))
        return results
