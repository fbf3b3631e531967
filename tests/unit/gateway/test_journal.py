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


def test_an_entry_carries_its_detail_text_and_digest_from_when_it_was_made(tmp_path):
    """Worked out before a group commit takes the write lock: what the chain covers is the
    detail as it was when the entry was made, and the stored row says the same."""
    import hashlib
    import json

    from sqlalchemy import select

    detail = {"sender": "ROMASHKA", "state": None, "n": 1}
    entry = journal.Entry(datetime.now(timezone.utc), "m9", "IN", "request-accepted", detail,
                          b"<envelope/>")
    assert entry.detail_text == json.dumps(detail, ensure_ascii=False, sort_keys=True)
    assert entry.content_digest == hashlib.sha256(b"<envelope/>").hexdigest()
    detail["n"] = 2                                          # changed after: not in the entry
    engine = _engine(tmp_path)
    with engine.begin() as conn:
        journal.append_many(conn, [entry])
        stored = conn.execute(select(table.c.detail, table.c.content_digest)
                              .where(table.c.message_id == "m9")).one()
        assert journal.verify_chain(conn).intact
    assert tuple(stored) == ('{"n": 1, "sender": "ROMASHKA", "state": null}',
                             entry.content_digest)
