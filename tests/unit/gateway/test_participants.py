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


def test_text_fingerprints_of_the_signer_screen(monkeypatch):
    """The cheap screens (raw bytes and KeyInfo text) remember a certificate text's SHA-256;
    text they cannot judge is neither judged nor kept."""
    import base64
    import hashlib

    from gateway.pipeline import stages

    monkeypatch.setattr(stages, "_TEXT_FINGERPRINTS", {})
    der = b"\x30\x03\x02\x01\x01"
    text = base64.b64encode(der).decode()
    assert stages._text_fingerprint(text) == hashlib.sha256(der).hexdigest()
    assert stages._text_fingerprint(text.encode()) == hashlib.sha256(der).hexdigest()
    assert stages._text_fingerprint("&#65;" + text) is None
    assert stages._text_fingerprint("not base64!") is None
    assert set(stages._TEXT_FINGERPRINTS) == {text, text.encode()}
    for n in range(1100):
        stages._text_fingerprint(base64.b64encode(n.to_bytes(4, "big")).decode())
    assert len(stages._TEXT_FINGERPRINTS) <= 1024
