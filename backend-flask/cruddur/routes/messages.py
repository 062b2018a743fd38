from flask import Blueprint

from cruddur.routes import current_user_handle, json_object
from cruddur.services.create_message import CreateMessage
from cruddur.services.message_groups import MessageGroups
from cruddur.services.messages import Messages

bp = Blueprint("messages", __name__, url_prefix="/api")


@bp.get("/message_groups")
def message_groups():
    return MessageGroups.run(current_user_handle())


@bp.get("/messages/@<handle>")
def messages(handle: str):
    return Messages.run(current_user_handle(), handle)


@bp.post("/messages")
def messages_create():
    return CreateMessage.run(current_user_handle(), json_object())
