from datetime import datetime, timezone

from cruddur import data


class NotificationsActivities:
    @staticmethod
    def run(user_handle: str) -> list[dict]:
        return data.notification_activities(datetime.now(timezone.utc))
