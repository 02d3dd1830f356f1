"""drop users.sessions_valid_from: a session row (sign_in_sessions) is the one record of
whether a sign-in holds, and every path that ended sessions by moving this column (a new
password, a two-factor reset) already ends their rows

Revision ID: b2e7c4d9a1f6
Revises: a6c9d3e1f4b8
Create Date: 2026-12-03 11:45:00.000000
"""
import sqlalchemy as sa
from alembic import op

import portal.dbtypes

# revision identifiers, used by Alembic.
revision = 'b2e7c4d9a1f6'
down_revision = 'a6c9d3e1f4b8'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('sessions_valid_from')


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sessions_valid_from',
                                      portal.dbtypes.UTCDateTime(timezone=True), nullable=True))
