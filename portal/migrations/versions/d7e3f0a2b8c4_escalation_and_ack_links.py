"""escalation tiers for contacts and per server; single-use acknowledgement links

Revision ID: d7e3f0a2b8c4
Revises: c5d2e9f1a7b3
Create Date: 2026-12-02 07:00:00.000000

An unacknowledged critical incident pages tier 2, then tier 3 (portal/incidents/
escalation.py): contacts get a tier (existing ones are tier 1, as they were paged), servers
may override when. A page's acknowledgement link works once (notifications.ack_used_at).
When a send last failed (last_failed_at), for the Admin page's channel health.
"""
import sqlalchemy as sa
from alembic import op

import portal.dbtypes

# revision identifiers, used by Alembic.
revision = 'd7e3f0a2b8c4'
down_revision = 'c5d2e9f1a7b3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('server_contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tier', sa.Integer(), nullable=False, server_default='1'))
    with op.batch_alter_table('servers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('escalate_after_min', sa.Integer(), nullable=True))
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ack_used_at', portal.dbtypes.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('last_failed_at',
                                      portal.dbtypes.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('last_failed_at')
        batch_op.drop_column('ack_used_at')
    with op.batch_alter_table('servers', schema=None) as batch_op:
        batch_op.drop_column('escalate_after_min')
    with op.batch_alter_table('server_contacts', schema=None) as batch_op:
        batch_op.drop_column('tier')
