"""The participants cache: look-ups are cached for ttl seconds, then a change applies."""
import time

from gateway.pipeline.participants import SEND, Participants, add_system, grant, set_enabled
from gateway.storage.db import make_engine
from gateway.storage.migrate import upgrade
from registry_stubs.pki import Pki


def test_cache_holds_for_ttl_then_sees_changes(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    upgrade(engine)
    cert = Pki.init(tmp_path / "pki", base_url="http://127.0.0.1:9").issue("a", common_name="A").certificate
    add_system(engine, "A", "A", [cert])
    participants = Participants(engine, ttl=0.5)
    assert participants.sender_of(cert).mnemonic == "A"
    assert not participants.allowed("A", SEND, "urn:x", "Y")
    set_enabled(engine, "A", False)
    grant(engine, "A", SEND, "urn:x")
    assert participants.by_certificate(cert).enabled  # still cached
    assert not participants.allowed("A", SEND, "urn:x", "Y")
    time.sleep(0.6)
    assert not participants.by_certificate(cert).enabled
    assert participants.allowed("A", SEND, "urn:x", "Y")
