"""The chain: rows verify as written; an edit, a deleted row, a changed link or a cut end
makes ``audit verify`` fail naming the row; concurrent events still form one chain."""

import itertools
import threading

from sqlalchemy import text

from portal.audit.models import AuditEvent
from portal.audit.service import Target, record, verify
from portal.extensions import db


def _events(n: int) -> None:
    for i in range(n):
        record("server.updated", Target("server", i + 1, f"cbs-{i}"),
               before={"interval_s": 30}, after={"interval_s": 60}, detail={"note": "é ✓"})
    db.session.commit()


def _raw(sql: str, **params) -> None:
    db.session.execute(text(sql), params)
    db.session.commit()
    db.session.expire_all()


def test_rows_written_verify_with_consecutive_ids(app, runner):
    _events(5)
    rows = db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [row.id for row in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == "" and all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    assert rows[0].actor_kind == "system" and rows[0].actor_name == "system"
    assert verify().ok and verify().rows == 5
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and f"5 rows, head {rows[-1].hash}" in result.output


def test_an_edited_row_is_named(app, runner):
    _events(4)
    _raw("UPDATE audit_events SET target_name = 'someone-else' WHERE id = 3")
    verdict = verify()
    assert not verdict.ok and verdict.row_id == 3
    assert verdict.problem == ("row 3 was changed after it was written (its content does not "
                               "match its hash)")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1 and "row 3 was changed" in result.output


def test_an_edit_that_rehashes_the_row_breaks_the_next_link(app):
    _events(4)
    row = db.session.get(AuditEvent, 2)
    row.after = {"interval_s": 3600}
    from portal.audit.chain import row_hash
    _raw("UPDATE audit_events SET after = :after, hash = :hash WHERE id = 2",
         after='{"interval_s": 3600}', hash=row_hash(row, row.prev_hash))
    verdict = verify()
    assert not verdict.ok and verdict.row_id == 3 and "does not follow row 2" in verdict.problem


def test_a_deleted_row_is_a_gap(app):
    _events(5)
    _raw("DELETE FROM audit_events WHERE id = 3")
    verdict = verify()
    assert not verdict.ok and verdict.problem == "rows 3-3 are missing" and verdict.row_id == 3


def test_rows_deleted_from_the_end_are_missed(app):
    _events(5)
    _raw("DELETE FROM audit_events WHERE id >= 4")
    verdict = verify()
    assert not verdict.ok and verdict.problem == "rows 4-5 are missing from the end of the trail"


def test_concurrent_events_form_one_chain(app):
    """Each thread's transaction holds the head while it adds its row (FOR UPDATE)."""
    errors = []

    def worker(n: int) -> None:
        with app.app_context():
            try:
                for i in range(10):
                    record("auth.sign_in", Target("user", n, f"user-{n}"), detail={"i": i})
                    db.session.commit()
            except Exception as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert verify().ok and verify().rows == 40
