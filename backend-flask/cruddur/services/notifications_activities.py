from datetime import datetime, timezone

from opentelemetry import trace

from cruddur import data


class NotificationsActivities:
    @staticmethod
    def run(user_handle: str) -> list[dict]:
        results = data.notification_activities(datetime.now(timezone.utc))
        trace.get_current_span().set_attributes({"app.user_handle": user_handle, "app.result_length": len(results)})
        return results
