"""servers depend on servers; incidents of dependants held or not paged

Revision ID: c5d2e9f1a7b3
Revises: b3c8d1e6f402
Create Date: 2026-12-02 07:00:00.000000

A server may depend on another (its switch, host or gateway): while that one is down, its
outages are recorded but not paged (portal/incidents/dependants.py).
"""
import sqlalchemy as sa
from alembic import op

import portal.dbtypes

# revision identifiers, used by Alembic.
revision = 'c5d2e9f1a7b3'
down_revision = 'b3c8d1e6f402'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('servers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('depends_on_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_servers_depends_on_id'), ['depends_on_id'],
                              unique=False)
        batch_op.create_foreign_key('fk_servers_depends_on_id_servers', 'servers',
                                    ['depends_on_id'], ['id'], ondelete='SET NULL')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suppressed_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('pages_held_until', portal.dbtypes.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_incidents_pages_held_until'), ['pages_held_until'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incidents_pages_held_until'))
        batch_op.drop_column('pages_held_until')
        batch_op.drop_column('suppressed_by')
    with op.batch_alter_table('servers', schema=None) as batch_op:
        batch_op.drop_constraint('fk_servers_depends_on_id_servers', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_servers_depends_on_id'))
        batch_op.drop_column('depends_on_id')
