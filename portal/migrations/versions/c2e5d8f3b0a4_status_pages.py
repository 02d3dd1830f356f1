"""status pages for customers: which servers, under which names

Revision ID: c2e5d8f3b0a4
Revises: b1f4c7e2a9d3
Create Date: 2026-12-02 19:30:00.000000
"""
import sqlalchemy as sa
from alembic import op

import portal.dbtypes

# revision identifiers, used by Alembic.
revision = 'c2e5d8f3b0a4'
down_revision = 'b1f4c7e2a9d3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "status_pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("show_internal", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("created_at", portal.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", portal.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "status_components",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("server_id", sa.Integer(), nullable=True),
        sa.Column("label_key", sa.String(length=64), nullable=True),
        sa.Column("label_value", sa.String(length=255), nullable=True),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("display_group", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["page_id"], ["status_pages.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["server_id"], ["servers.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_status_components_page_id", "status_components", ["page_id"])


def downgrade():
    op.drop_index("ix_status_components_page_id", table_name="status_components")
    op.drop_table("status_components")
    op.drop_table("status_pages")
