from datetime import datetime, timezone

from opentelemetry import trace

from cruddur import data


class MessageGroups:
    @staticmethod
    def run(user_handle: str) -> list[dict]:
        groups = []
        for handle, conversation in data.conversations(datetime.now(timezone.utc)).items():
            latest = conversation["messages"][-1]
            groups.append({"uuid": conversation["uuid"], **data.user(handle),
                           "message": latest["message"], "created_at": latest["created_at"]})
        trace.get_current_span().set_attributes({"app.user_handle": user_handle, "app.result_length": len(groups)})
        return sorted(groups, key=lambda group: group["created_at"], reverse=True)
