from datetime import datetime, timezone

from cruddur import data
from cruddur.errors import NotFound


class UserActivities:
    @staticmethod
    def run(user_handle: str) -> list[dict]:
        if user_handle not in data.USERS:
            raise NotFound("user_not_found")
        now = datetime.now(timezone.utc)
        return [item for item in data.home_activities(now) if item["handle"] == user_handle]
