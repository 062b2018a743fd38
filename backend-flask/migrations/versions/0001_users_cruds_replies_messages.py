"""Users, cruds (activities), replies, message groups and messages.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def moment(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("uuid", sa.Uuid, primary_key=True),
        sa.Column("handle", sa.String(64), nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        moment("created_at"),
        sa.PrimaryKeyConstraint("uuid", name="pk_users"),
        sa.UniqueConstraint("handle", name="uq_users_handle"),
    )
    op.create_table(
        "activities",
        sa.Column("uuid", sa.Uuid),
        sa.Column("user_uuid", sa.Uuid, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("ttl", sa.String(16)),
        sa.Column("likes_count", sa.Integer, nullable=False),
        sa.Column("reposts_count", sa.Integer, nullable=False),
        sa.Column("for_user_uuid", sa.Uuid),
        moment("created_at"),
        moment("expires_at"),
        sa.PrimaryKeyConstraint("uuid", name="pk_activities"),
        sa.ForeignKeyConstraint(["user_uuid"], ["users.uuid"], name="fk_activities_user_uuid_users"),
        sa.ForeignKeyConstraint(["for_user_uuid"], ["users.uuid"], name="fk_activities_for_user_uuid_users"),
    )
    op.create_index("ix_activities_created_at", "activities", ["created_at"])
    op.create_table(
        "replies",
        sa.Column("uuid", sa.Uuid),
        sa.Column("activity_uuid", sa.Uuid, nullable=False),
        sa.Column("user_uuid", sa.Uuid, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        moment("created_at"),
        sa.PrimaryKeyConstraint("uuid", name="pk_replies"),
        sa.ForeignKeyConstraint(["activity_uuid"], ["activities.uuid"], name="fk_replies_activity_uuid_activities"),
        sa.ForeignKeyConstraint(["user_uuid"], ["users.uuid"], name="fk_replies_user_uuid_users"),
    )
    op.create_index("ix_replies_activity_uuid", "replies", ["activity_uuid"])
    op.create_table(
        "message_groups",
        sa.Column("uuid", sa.Uuid),
        sa.Column("first_user_uuid", sa.Uuid, nullable=False),
        sa.Column("second_user_uuid", sa.Uuid, nullable=False),
        moment("created_at"),
        sa.PrimaryKeyConstraint("uuid", name="pk_message_groups"),
        sa.ForeignKeyConstraint(["first_user_uuid"], ["users.uuid"], name="fk_message_groups_first_user_uuid_users"),
        sa.ForeignKeyConstraint(["second_user_uuid"], ["users.uuid"], name="fk_message_groups_second_user_uuid_users"),
        sa.UniqueConstraint("first_user_uuid", "second_user_uuid", name="uq_message_groups_users"),
    )
    op.create_table(
        "messages",
        sa.Column("uuid", sa.Uuid),
        sa.Column("message_group_uuid", sa.Uuid, nullable=False),
        sa.Column("user_uuid", sa.Uuid, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        moment("created_at"),
        sa.PrimaryKeyConstraint("uuid", name="pk_messages"),
        sa.ForeignKeyConstraint(["message_group_uuid"], ["message_groups.uuid"],
                                name="fk_messages_message_group_uuid_message_groups"),
        sa.ForeignKeyConstraint(["user_uuid"], ["users.uuid"], name="fk_messages_user_uuid_users"),
    )
    op.create_index("ix_messages_message_group_uuid", "messages", ["message_group_uuid"])


def downgrade() -> None:
    for table in ("messages", "message_groups", "replies", "activities", "users"):
        op.drop_table(table)
