"""the gathering window each sent message waited out (notifications.window_s), so a long
storm's digests widen

Revision ID: f1a5b2c6d7e8
Revises: e9f4a1b3c5d6
Create Date: 2026-12-02 10:30:00.000000
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f1a5b2c6d7e8'
down_revision = 'e9f4a1b3c5d6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('window_s', sa.Integer(), server_default='0',
                                      nullable=False))


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('window_s')
