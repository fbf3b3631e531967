"""The hash-chained journal shows any alteration, insertion or deletion."""
from datetime import datetime, timezone

from sqlalchemy import delete, update

from gateway.storage import journal
from gateway.storage.db import make_engine
from gateway.storage.migrate import upgrade
from gateway.storage.schema import journal as table


def _engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'j.db'}")
    upgrade(engine)
    with engine.begin() as conn:
        for i in range(5):
            journal.append(conn, at=datetime.now(timezone.utc), message_id=f"m{i}", direction="IN",
                           event="request-accepted", detail={"i": i}, content=b"x" * i)
    return engine


def test_untouched_chain_is_intact(tmp_path):
    with _engine(tmp_path).connect() as conn:
        report = journal.verify_chain(conn)
    assert report.intact and report.entries == 5


def test_altered_detail_is_found(tmp_path):
    engine = _engine(tmp_path)
    with engine.begin() as conn:
        conn.execute(update(table).where(table.c.message_id == "m2").values(detail='{"i": 99}'))
        report = journal.verify_chain(conn)
    assert not report.intact and report.first_broken_id == 3


def test_deleted_entry_is_found(tmp_path):
    engine = _engine(tmp_path)
    with engine.begin() as conn:
        conn.execute(delete(table).where(table.c.message_id == "m1"))
        assert journal.verify_chain(conn).first_broken_id == 3


def test_the_kept_detail_encoder_writes_what_json_dumps_wrote():
    """Entries hashed before the kept encoder must keep verifying, and new ones read the same."""
    import json
    from datetime import datetime, timezone

    from gateway.storage.journal import _DETAIL_JSON

    for detail in [{}, {"b": 1, "a": "ИНН ж", "at": datetime(2026, 1, 1, tzinfo=timezone.utc),
                        "none": None, "list": [1, {"z": 2, "y": "x"}], "flag": True},
                   {"sender": "ROMASHKA", "verification": {"chain": ["a", "b"]}, "state": None}]:
        assert _DETAIL_JSON(detail) == json.dumps(detail, ensure_ascii=False, sort_keys=True,
                                                  default=str)
