"""server contacts need an e-mail or a phone

Revision ID: 57dfd792dcf4
Revises: be1e44850553
Create Date: 2026-11-28 17:28:15.199465

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '57dfd792dcf4'
down_revision = 'be1e44850553'
branch_labels = None
depends_on = None


NAME = "ck_server_contacts_reachable"


def upgrade():
    # Such a row could never be paged; the API never wrote one, but the check would refuse it.
    op.execute("DELETE FROM server_contacts WHERE email IS NULL AND phone IS NULL")
    with op.batch_alter_table('server_contacts', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f(NAME), "email IS NOT NULL OR phone IS NOT NULL")


def downgrade():
    with op.batch_alter_table('server_contacts', schema=None) as batch_op:
        batch_op.drop_constraint(op.f(NAME), type_='check')
