from datetime import datetime, timezone

from cruddur import data


class HomeActivities:
    @staticmethod
    def run() -> list[dict]:
        return data.home_activities(datetime.now(timezone.utc))
