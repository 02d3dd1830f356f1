"""servers: blackbox's probe options (headers, body, basic auth, bearer token, client
certificate, ip_protocol, TCP query_response, DNS transport and answer regexes); the
secrets among them hold sealed text (wire/secrets.py), never plaintext

Revision ID: c8d4f2a6e1b9
Revises: b2e7c4d9a1f6
Create Date: 2026-12-04 10:00:00.000000
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c8d4f2a6e1b9'
down_revision = 'b2e7c4d9a1f6'
branch_labels = None
depends_on = None

COLUMNS = (
    ('http_headers', sa.Text()),
    ('http_body', sa.Text()),
    ('http_basic_auth_username', sa.String(length=255)),
    ('http_basic_auth_password', sa.Text()),
    ('http_bearer_token', sa.Text()),
    ('tls_client_cert', sa.Text()),
    ('tls_client_key', sa.Text()),
    ('tcp_query_response', sa.JSON()),
    ('dns_answer_regex', sa.String(length=500)),
    ('dns_answer_absent_regex', sa.String(length=500)),
)


def upgrade():
    with op.batch_alter_table('servers', schema=None) as batch_op:
        for name, type_ in COLUMNS:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        batch_op.add_column(sa.Column('ip_protocol', sa.String(length=3), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('dns_transport', sa.String(length=3), nullable=False,
                                      server_default='udp'))


def downgrade():
    with op.batch_alter_table('servers', schema=None) as batch_op:
        for name in ('dns_transport', 'ip_protocol', *reversed([name for name, _ in COLUMNS])):
            batch_op.drop_column(name)
