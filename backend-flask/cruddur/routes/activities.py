from flask import Blueprint, request

from cruddur.routes import current_user_handle, json_object
from cruddur.services.create_activity import CreateActivity
from cruddur.services.create_reply import CreateReply
from cruddur.services.home_activities import HomeActivities
from cruddur.services.notifications_activities import NotificationsActivities
from cruddur.services.search_activities import SearchActivities
from cruddur.services.show_activity import ShowActivity
from cruddur.services.user_activities import UserActivities

bp = Blueprint("activities", __name__, url_prefix="/api/activities")


@bp.get("/home")
def activities_home():
    return HomeActivities.run()


@bp.get("/notifications")
def activities_notifications():
    return NotificationsActivities.run(current_user_handle())


@bp.get("/@<handle>")
def activities_users(handle: str):
    return UserActivities.run(handle)


@bp.get("/search")
def activities_search():
    return SearchActivities.run(request.args.to_dict())


@bp.post("")
def activities_create():
    return CreateActivity.run(current_user_handle(), json_object())


@bp.get("/<uuid:activity_uuid>")
def activities_show(activity_uuid):
    return ShowActivity.run(str(activity_uuid))


@bp.post("/<uuid:activity_uuid>/reply")
def activities_reply(activity_uuid):
    return CreateReply.run(current_user_handle(), str(activity_uuid), json_object())
