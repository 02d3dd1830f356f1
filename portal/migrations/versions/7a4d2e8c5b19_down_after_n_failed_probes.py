"""servers: down after N failed probes in a row, instead of confirm_down yes or no

Revision ID: 7a4d2e8c5b19
Revises: 5e2b7c9d1a30
Create Date: 2026-12-01 23:40:00.000000

confirm_down true meant the scheduled probe and one retry (2), false the first failure (1).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '7a4d2e8c5b19'
down_revision = '5e2b7c9d1a30'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('servers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('down_after', sa.Integer(), nullable=False,
                                      server_default='2'))
    op.execute("UPDATE servers SET down_after = CASE WHEN confirm_down THEN 2 ELSE 1 END")
    with op.batch_alter_table('servers', schema=None) as batch_op:
        batch_op.alter_column('down_after', server_default=None)
        batch_op.drop_column('confirm_down')


def downgrade():
    with op.batch_alter_table('servers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirm_down', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
    op.execute("UPDATE servers SET confirm_down = (down_after > 1)")
    with op.batch_alter_table('servers', schema=None) as batch_op:
        batch_op.alter_column('confirm_down', server_default=None)
        batch_op.drop_column('down_after')
