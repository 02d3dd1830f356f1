"""notifications: a claim takes a recipient's due rows of a kind; sent_in names the message

Revision ID: b3c8d1e6f402
Revises: 7a4d2e8c5b19
Create Date: 2026-12-02 06:40:00.000000

Storm digests (portal/notify/digest.py): one send claims every due row of a channel,
recipient and state (``claim``, a token) and records which message carried each
(``sent_in``, the first row's id); each row sent before was its own message.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b3c8d1e6f402'
down_revision = '7a4d2e8c5b19'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claim', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('sent_in', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_notifications_claim'), ['claim'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_sent_in'), ['sent_in'], unique=False)
    op.execute("UPDATE notifications SET sent_in = id WHERE status = 'sent'")


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_sent_in'))
        batch_op.drop_index(batch_op.f('ix_notifications_claim'))
        batch_op.drop_column('sent_in')
        batch_op.drop_column('claim')
