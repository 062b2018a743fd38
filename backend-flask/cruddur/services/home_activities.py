import logging
from datetime import datetime, timezone

from opentelemetry import trace

from cruddur import store
from cruddur.store import queries

logger = logging.getLogger(__name__)
# At module level, as the journal writes it: the API's proxy hands its spans to the global provider.
tracer = trace.get_tracer("home.activities")


class HomeActivities:
    @staticmethod
    def run() -> list[dict]:
        logger.info("HomeActivities")
        # The span name keeps the journal's spelling, so readers find what it describes; the
        # queries' own spans are its children.
        with tracer.start_as_current_span("home-activites-mock-data") as span:
            now = datetime.now(timezone.utc)
            span.set_attribute("app.now", now.isoformat())
            with store.reading() as connection:
                results = queries.activities_where(connection, now, queries.public())
            span.set_attribute("app.result_length", len(results))
            return results
