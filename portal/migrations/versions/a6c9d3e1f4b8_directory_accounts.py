"""directory accounts: where a user comes from, its directory DN, when it was last read

Revision ID: a6c9d3e1f4b8
Revises: f5b8c2d0e3a7
Create Date: 2026-12-03 07:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

import portal.dbtypes

# revision identifiers, used by Alembic.
revision = 'a6c9d3e1f4b8'
down_revision = 'f5b8c2d0e3a7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=16), server_default='local',
                                      nullable=False))
        batch_op.add_column(sa.Column('directory_dn', sa.String(length=512), nullable=True))
        batch_op.add_column(sa.Column('directory_checked_at',
                                      portal.dbtypes.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('directory_disabled_at',
                                      portal.dbtypes.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('directory_disabled_at')
        batch_op.drop_column('directory_checked_at')
        batch_op.drop_column('directory_dn')
        batch_op.drop_column('source')
