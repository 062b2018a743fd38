from opentelemetry import trace

from cruddur import store
from cruddur.store import queries


class MessageGroups:
    @staticmethod
    def run(user_handle: str) -> list[dict]:
        with store.reading() as connection:
            user = queries.find_user(connection, user_handle)
            groups = queries.groups_of(connection, user.uuid) if user else []
        trace.get_current_span().set_attributes({"app.user_handle": user_handle, "app.result_length": len(groups)})
        return groups
