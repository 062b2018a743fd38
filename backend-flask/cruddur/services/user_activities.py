from datetime import datetime, timezone

from aws_xray_sdk.core import xray_recorder
from opentelemetry import trace

from cruddur import store
from cruddur.errors import NotFound
from cruddur.store import queries
from cruddur.store.schema import activities

tracer = trace.get_tracer("user.activities")


class UserActivities:
    @staticmethod
    def run(user_handle: str) -> list[dict]:
        span = trace.get_current_span()
        with store.reading() as connection:
            user = queries.find_user(connection, user_handle)
            if user is None:
                span.set_attribute("app.user_found", False)
                raise NotFound("user_not_found")
            span.set_attribute("app.user_handle", user_handle)
            # The journal's subsegment, on X-Ray's daemon route (a no-op on the others), beside its
            # OpenTelemetry span, which X-Ray's otlp route shows instead.
            with tracer.start_as_current_span("mock-data") as mock_data, \
                    xray_recorder.in_subsegment("mock-data") as subsegment:
                now = datetime.now(timezone.utc)
                results = queries.activities_where(connection, now, queries.public(),
                                                   activities.c.user_uuid == user.uuid)
                mock_data.set_attributes({"app.now": now.isoformat(), "app.result_length": len(results)})
                if subsegment is not None:  # None outside a segment (flask shell, a job)
                    subsegment.put_metadata("key", {"now": now.isoformat(), "results-size": len(results)}, "namespace")
        span.set_attribute("app.result_length", len(results))
        return results
