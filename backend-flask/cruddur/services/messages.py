from opentelemetry import trace

from cruddur import store
from cruddur.errors import NotFound
from cruddur.store import queries


class Messages:
    @staticmethod
    def run(user_sender_handle: str, user_receiver_handle: str) -> list[dict]:
        with store.reading() as connection:
            receiver = queries.find_user(connection, user_receiver_handle)
            if receiver is None:
                raise NotFound("user_not_found")
            sender = queries.find_user(connection, user_sender_handle)
            group = sender and queries.group_of(connection, sender.uuid, receiver.uuid)
            results = queries.conversation(connection, group) if group else []
        trace.get_current_span().set_attributes({
            "app.user_handle": user_sender_handle, "app.receiver_handle": user_receiver_handle,
            "app.result_length": len(results),
        })
        return results
