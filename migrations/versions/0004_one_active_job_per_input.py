"""one active job per input: a partial unique index over (kind, input_hash) of pending/submitted/running jobs

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 20:30:00

Render requests looked for an in-flight job with the same inputs and then inserted one, with nothing between
the two: parallel requests made duplicate paid jobs. The index makes the database refuse a second active job
for the same input; the request that loses the race returns the winner's job. Duplicates already in a database
are resolved first: in each group the job already sent to the provider (else the oldest) stays, the others are
canceled with a reason (a pending duplicate was never submitted, so nothing paid is lost). Downgrade drops the
index only.
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

ACTIVE = ("pending", "submitted", "running")
WHERE = "status IN ('pending', 'submitted', 'running')"


def upgrade() -> None:
    conn = op.get_bind()
    jobs = sa.table('jobs', sa.column('id', sa.Integer()), sa.column('kind', sa.String()),
                    sa.column('input_hash', sa.String()), sa.column('status', sa.String()),
                    sa.column('remote_request_id', sa.String()), sa.column('error', sa.Text()),
                    sa.column('error_category', sa.String()), sa.column('lease_owner', sa.String()))
    rows = conn.execute(sa.select(jobs.c.id, jobs.c.kind, jobs.c.input_hash, jobs.c.remote_request_id)
                        .where(jobs.c.status.in_(ACTIVE)).order_by(jobs.c.id)).all()
    groups: dict[tuple[str, str], list[tuple[int, str | None]]] = {}
    for job_id, kind, input_hash, remote in rows:
        groups.setdefault((kind, input_hash), []).append((job_id, remote))
    for members in groups.values():
        if len(members) < 2:
            continue
        keep = next((j for j, remote in members if remote), members[0][0])
        for job_id, _ in members:
            if job_id != keep:
                conn.execute(sa.update(jobs).where(jobs.c.id == job_id).values(
                    status='canceled', error=f'Canceled: a duplicate of job {keep} (one active job per input)',
                    error_category='canceled', lease_owner=None))
    op.create_index('uq_jobs_active_input', 'jobs', ['kind', 'input_hash'], unique=True,
                    sqlite_where=sa.text(WHERE), postgresql_where=sa.text(WHERE))


def downgrade() -> None:
    op.drop_index('uq_jobs_active_input', table_name='jobs')
