"""each user's dashboard view (tiles or fleet), remembered across devices

Revision ID: b1f4c7e2a9d3
Revises: a3c7e1d9b2f4
Create Date: 2026-12-02 19:30:00.000000
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b1f4c7e2a9d3'
down_revision = 'a3c7e1d9b2f4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("dashboard_view", sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("dashboard_view")
