"""recurring maintenance windows and the occurrences made from them

Revision ID: d3f6e9a4c1b5
Revises: c2e5d8f3b0a4
Create Date: 2026-12-02 19:30:00.000000
"""
import sqlalchemy as sa
from alembic import op

import portal.dbtypes

# revision identifiers, used by Alembic.
revision = 'd3f6e9a4c1b5'
down_revision = 'c2e5d8f3b0a4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('maintenance_schedules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('server_id', sa.Integer(), nullable=True),
    sa.Column('label_key', sa.String(length=64), nullable=True),
    sa.Column('label_value', sa.String(length=255), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('weekdays', sa.String(length=32), nullable=True),
    sa.Column('start_time', sa.String(length=5), nullable=True),
    sa.Column('cron', sa.String(length=120), nullable=True),
    sa.Column('duration_min', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('effective_from', portal.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', portal.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_by_name', sa.String(length=64), nullable=True),
    sa.Column('created_at', portal.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', portal.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_maintenance_schedules_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['server_id'], ['servers.id'], name=op.f('fk_maintenance_schedules_server_id_servers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_schedules'))
    )
    with op.batch_alter_table('maintenance_schedules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_maintenance_schedules_server_id'), ['server_id'], unique=False)

    with op.batch_alter_table('maintenance_windows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('schedule_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('schedule_revision', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('began_at', portal.dbtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_maintenance_windows_schedule_id'), ['schedule_id'], unique=False)
        batch_op.create_unique_constraint('uq_maintenance_windows_occurrence', ['schedule_id', 'schedule_revision', 'starts_at'])
        batch_op.create_foreign_key(batch_op.f('fk_maintenance_windows_schedule_id_maintenance_schedules'), 'maintenance_schedules', ['schedule_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('maintenance_since', portal.dbtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('maintenance_window_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_incidents_maintenance_window_id'), ['maintenance_window_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_incidents_maintenance_window_id_maintenance_windows'), 'maintenance_windows', ['maintenance_window_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_incidents_maintenance_window_id_maintenance_windows'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_incidents_maintenance_window_id'))
        batch_op.drop_column('maintenance_window_id')
        batch_op.drop_column('maintenance_since')

    with op.batch_alter_table('maintenance_windows', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_maintenance_windows_schedule_id_maintenance_schedules'), type_='foreignkey')
        batch_op.drop_constraint('uq_maintenance_windows_occurrence', type_='unique')
        batch_op.drop_index(batch_op.f('ix_maintenance_windows_schedule_id'))
        batch_op.drop_column('began_at')
        batch_op.drop_column('schedule_revision')
        batch_op.drop_column('schedule_id')

    with op.batch_alter_table('maintenance_schedules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_maintenance_schedules_server_id'))

    op.drop_table('maintenance_schedules')
