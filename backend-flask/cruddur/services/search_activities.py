from datetime import datetime, timezone

from cruddur import data
from cruddur.errors import validate
from cruddur.schemas import SearchQuery


class SearchActivities:
    @staticmethod
    def run(query: dict) -> list[dict]:
        term = validate(SearchQuery, query).search_term.casefold()
        now = datetime.now(timezone.utc)
        return [item for item in data.home_activities(now) if term in item["message"].casefold()]
