from datetime import datetime, timezone

from opentelemetry import trace

from cruddur import store
from cruddur.errors import validate
from cruddur.schemas import SearchQuery
from cruddur.store import queries


class SearchActivities:
    @staticmethod
    def run(query: dict) -> list[dict]:
        term = validate(SearchQuery, query).search_term
        with store.reading() as connection:
            results = queries.activities_where(connection, datetime.now(timezone.utc),
                                               queries.public(), queries.search(term))
        trace.get_current_span().set_attributes({"app.search_term": term, "app.result_length": len(results)})
        return results
