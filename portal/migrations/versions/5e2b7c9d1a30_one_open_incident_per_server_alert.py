"""at most one open incident per server and alert; flapping; component heartbeats

Revision ID: 5e2b7c9d1a30
Revises: 3c9e1f7a2b64
Create Date: 2026-12-01 22:40:00.000000

Open duplicates left by earlier versions (an outage re-fired by a restarted Alertmanager)
are made consecutive first: each but the newest ends where the next began, so the union
of downtime they record is unchanged and none overlaps.
"""
from itertools import pairwise

import sqlalchemy as sa
from alembic import op

import portal.dbtypes

# revision identifiers, used by Alembic.
revision = '5e2b7c9d1a30'
down_revision = '3c9e1f7a2b64'
branch_labels = None
depends_on = None


def _make_open_duplicates_consecutive() -> None:
    connection = op.get_bind()
    queries = (  # the two keys an open incident is unique on, with or without a server
        "SELECT id, server_id, alertname, started_at FROM incidents "
        "WHERE ended_at IS NULL AND server_id IS NOT NULL "
        "ORDER BY server_id, alertname, started_at, id",
        "SELECT id, alertname, fingerprint, started_at FROM incidents "
        "WHERE ended_at IS NULL AND server_id IS NULL "
        "ORDER BY alertname, fingerprint, started_at, id",
    )
    for query in queries:
        rows = connection.execute(sa.text(query)).all()
        for current, following in pairwise(rows):
            if tuple(current)[1:3] == tuple(following)[1:3]:
                connection.execute(sa.text("UPDATE incidents SET ended_at = :end WHERE id = :id"),
                                   {"end": following.started_at, "id": current.id})


def upgrade():
    _make_open_duplicates_consecutive()
    op.create_index('uq_incidents_open_per_server_alert', 'incidents', ['server_id', 'alertname'],
                    unique=True, postgresql_where=sa.text('ended_at IS NULL'),
                    sqlite_where=sa.text('ended_at IS NULL'))
    op.create_index('uq_incidents_open_unattached', 'incidents', ['alertname', 'fingerprint'],
                    unique=True,
                    postgresql_where=sa.text('ended_at IS NULL AND server_id IS NULL'),
                    sqlite_where=sa.text('ended_at IS NULL AND server_id IS NULL'))
    op.add_column('incidents', sa.Column('flapping_since', portal.dbtypes.UTCDateTime(timezone=True),
                                         nullable=True))
    op.create_table(
        'heartbeats',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('seen_at', portal.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column('detail', sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade():
    op.drop_table('heartbeats')
    op.drop_column('incidents', 'flapping_since')
    op.drop_index('uq_incidents_open_unattached', table_name='incidents')
    op.drop_index('uq_incidents_open_per_server_alert', table_name='incidents')
