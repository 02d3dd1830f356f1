"""server events by time, for the Logs page across every server

Revision ID: 3c9e1f7a2b64
Revises: 57dfd792dcf4
Create Date: 2026-11-29 06:20:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '3c9e1f7a2b64'
down_revision = '57dfd792dcf4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_server_events_at', 'server_events', ['at'], unique=False)


def downgrade():
    op.drop_index('ix_server_events_at', table_name='server_events')
