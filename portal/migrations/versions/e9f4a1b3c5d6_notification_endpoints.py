"""notification endpoints: generic webhooks and chat incoming webhooks, paged like people;
the bell's entries of one wave grouped (user_notifications.wave_of)

Revision ID: e9f4a1b3c5d6
Revises: d7e3f0a2b8c4
Create Date: 2026-12-02 07:10:00.000000
"""
import sqlalchemy as sa
from alembic import op

import portal.dbtypes

# revision identifiers, used by Alembic.
revision = 'e9f4a1b3c5d6'
down_revision = 'd7e3f0a2b8c4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'notification_endpoints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('url', sa.String(length=2048), nullable=False),
        sa.Column('tier', sa.Integer(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('created_at', portal.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('user_notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('wave_of', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_user_notifications_wave_of'), ['wave_of'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('user_notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_notifications_wave_of'))
        batch_op.drop_column('wave_of')
    op.drop_table('notification_endpoints')
