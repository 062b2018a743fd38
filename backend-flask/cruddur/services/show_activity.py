from datetime import datetime, timezone

from cruddur import data
from cruddur.errors import NotFound


def find_activity(activity_uuid: str) -> dict:
    for item in data.home_activities(datetime.now(timezone.utc)):
        if item["uuid"] == activity_uuid:
            return item
    raise NotFound("activity_not_found")


class ShowActivity:
    @staticmethod
    def run(activity_uuid: str) -> dict:
        return find_activity(activity_uuid)
