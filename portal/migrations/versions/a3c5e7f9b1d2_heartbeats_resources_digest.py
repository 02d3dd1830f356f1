"""heartbeat monitors (servers' schedule and ping key, a kind wide enough for "heartbeat", heartbeat_pings,
heartbeat_state), servers' resources exporter endpoint, users' daily digest opt-in

Revision ID: a3c5e7f9b1d2
Revises: c8d4f2a6e1b9
Create Date: 2026-12-05 10:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

from portal.dbtypes import UTCDateTime

# revision identifiers, used by Alembic.
revision = 'a3c5e7f9b1d2'
down_revision = 'c8d4f2a6e1b9'
branch_labels = None
depends_on = None

SERVER_COLUMNS = (
    ('heartbeat_period_s', sa.Integer()),
    ('heartbeat_cron', sa.String(length=100)),
    ('heartbeat_grace_s', sa.Integer()),
    ('heartbeat_since', UTCDateTime(timezone=True)),
    ('ping_key_hash', sa.String(length=64)),
    ('ping_key_sealed', sa.Text()),
    ('resources_endpoint', sa.String(length=255)),
)


def upgrade():
    with op.batch_alter_table('servers', schema=None) as batch_op:
        for name, type_ in SERVER_COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        batch_op.add_column(sa.Column('resources_exporter', sa.String(length=8),
                                      nullable=False, server_default='node'))
        batch_op.create_unique_constraint('uq_servers_ping_key_hash', ['ping_key_hash'])
        # "heartbeat" is nine characters
        batch_op.alter_column('kind', existing_type=sa.String(length=8),
                              type_=sa.String(length=16), existing_nullable=False)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('daily_digest', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.create_table(
        'heartbeat_pings',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('server_id', sa.Integer(),
                  sa.ForeignKey('servers.id', ondelete='CASCADE'), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('exit_code', sa.Integer(), nullable=True),
        sa.Column('at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('duration_s', sa.Float(), nullable=True),
        sa.Column('source', sa.String(length=45), nullable=True),
        sa.Column('method', sa.String(length=8), nullable=False),
        sa.Column('user_agent', sa.String(length=200), nullable=True),
        sa.Column('body', sa.Text(), nullable=True),
    )
    op.create_index('ix_heartbeat_pings_server_id_at', 'heartbeat_pings', ['server_id', 'at'])
    op.create_table(
        'heartbeat_state',
        sa.Column('server_id', sa.Integer(),
                  sa.ForeignKey('servers.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('last_ping_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_kind', sa.String(length=8), nullable=True),
        sa.Column('last_success_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_fail_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('exit_code', sa.Integer(), nullable=True),
        sa.Column('started_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('duration_s', sa.Float(), nullable=True),
    )


def downgrade():
    op.drop_table('heartbeat_state')
    op.drop_index('ix_heartbeat_pings_server_id_at', table_name='heartbeat_pings')
    op.drop_table('heartbeat_pings')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('daily_digest')
    with op.batch_alter_table('servers', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=sa.String(length=16),
                              type_=sa.String(length=8), existing_nullable=False)
        batch_op.drop_constraint('uq_servers_ping_key_hash', type_='unique')
        for name in ('resources_exporter', *reversed([name for name, _ in SERVER_COLUMNS])):
            batch_op.drop_column(name)
