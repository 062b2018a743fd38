from datetime import datetime, timezone

from opentelemetry import trace

from cruddur import data
from cruddur.errors import validate
from cruddur.schemas import SearchQuery


class SearchActivities:
    @staticmethod
    def run(query: dict) -> list[dict]:
        term = validate(SearchQuery, query).search_term.casefold()
        now = datetime.now(timezone.utc)
        results = [item for item in data.home_activities(now) if term in item["message"].casefold()]
        trace.get_current_span().set_attributes({"app.search_term": term, "app.result_length": len(results)})
        return results
