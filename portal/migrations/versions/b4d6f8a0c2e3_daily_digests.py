"""daily digests: one row per user and day, claimed and retried like the outbox

Revision ID: b4d6f8a0c2e3
Revises: a3c5e7f9b1d2
Create Date: 2026-12-05 12:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

from portal.dbtypes import UTCDateTime

# revision identifiers, used by Alembic.
revision = 'b4d6f8a0c2e3'
down_revision = 'a3c5e7f9b1d2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'daily_digests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.String(length=500), nullable=True),
        sa.Column('next_attempt_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('claimed_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('claim', sa.String(length=32), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('sent_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_daily_digests_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_daily_digests')),
        sa.UniqueConstraint('user_id', 'day', name=op.f('uq_daily_digests_user_id')),
    )
    op.create_index('ix_daily_digests_status_next_attempt_at', 'daily_digests',
                    ['status', 'next_attempt_at'], unique=False)


def downgrade():
    op.drop_index('ix_daily_digests_status_next_attempt_at', table_name='daily_digests')
    op.drop_table('daily_digests')
