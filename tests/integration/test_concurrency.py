"""Several gunicorn worker processes on one database: concurrent takers never get the same
message and none is lost (SQLite: exclusive write transactions; PostgreSQL: SKIP LOCKED)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid

import pytest
import requests
from lxml import etree

from conftest import free_port
from envelopes import build
from gateway.pipeline.participants import SEND, SERVE, add_system, grant
from gateway.ops.setup import open_pki
from support import T, ok

NS = "urn://test/concurrency/1.0"


def _serve(demo_settings, workers: int, **extra_env: str):
    """``gateway serve`` (gunicorn) in a subprocess on a free port; yields its /ws URL."""
    port = free_port()
    env = dict(os.environ, GATEWAY_DATA_DIR=str(demo_settings.data_dir),
               GATEWAY_DATABASE_URL=demo_settings.resolved_database_url,
               GATEWAY_PORT=str(port), GATEWAY_CA_URL=demo_settings.ca_url,
               GATEWAY_REGISTERS_URL=demo_settings.registers_url,
               GATEWAY_PARTICIPANTS_CACHE_SECONDS="0", **extra_env)
    proc = subprocess.Popen([sys.executable, "-m", "gateway.ops.cli", "serve", "--workers", str(workers)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{url}/health", timeout=1).ok:
                break
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"gunicorn did not start: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.2)
    try:
        yield f"{url}/ws"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def workers(demo_settings):
    yield from _serve(demo_settings, 3)


def test_concurrent_takers_share_the_queue_without_duplicates_or_losses(workers, demo_settings,
                                                                         engine, demo_client):
    pki = open_pki(demo_settings)
    issued = pki.issue(f"taker-{uuid.uuid4().hex[:6]}", common_name="TAKER", key_type="ec-p256")
    add_system(engine, "TAKER", "Concurrent taker", [issued.certificate])
    grant(engine, "TAKER", SERVE, NS)
    grant(engine, "ROMASHKA", SEND, NS)
    key, cert, chain = demo_client
    sent = set()
    for i in range(60):
        payload = etree.Element(f"{{{NS}}}Job")
        payload.text = str(i)
        message_id = build.new_message_id()
        ok(workers, build.send_request(payload, key, cert, message_id=message_id,
                                       extra_certificates=chain))
        sent.add(message_id)

    taken: list[str] = []
    lock = threading.Lock()
    errors: list[str] = []
    tk, tc, tchain = issued.private_key, issued.certificate, tuple(pki.intermediates())

    def taker():
        session = requests.Session()
        for _ in range(200):
            reply = session.post(workers, data=build.get_request(tk, tc, extra_certificates=tchain),
                                 headers={"Content-Type": "text/xml"}, timeout=30)
            if reply.status_code != 200:
                errors.append(reply.text[:500])
                return
            data = etree.fromstring(reply.content).find(f".//{{{T}}}SenderProvidedRequestData")
            if data is None:
                return
            message_id = data.findtext(f"{{{T}}}MessageID")
            with lock:
                taken.append(message_id)
            reply = session.post(workers, data=build.ack(message_id, tk, tc, extra_certificates=tchain),
                                 headers={"Content-Type": "text/xml"}, timeout=30)
            if reply.status_code != 200:
                errors.append(reply.text[:500])

    threads = [threading.Thread(target=taker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors[:2]
    assert len(taken) == len(set(taken)), "a message was handed to two takers"
    assert set(taken) == sent, f"lost: {len(sent - set(taken))}"


def test_gunicorn_takes_a_chunked_request_and_refuses_an_incomplete_one(workers, demo_client):
    """Under gunicorn (which de-chunks) a chunked SendRequest is processed once; a body shorter
    than its Content-Length is refused unprocessed (wsgiref, used elsewhere, refuses chunked with
    411: tests/attacks/test_http.py)."""
    from attacks.kit import http_request, raw_http, read_answer, signed_bytes

    body = signed_bytes(demo_client)
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    answer = requests.post(workers, data=iter([body[:1000], body[1000:]]), headers=headers, timeout=30)
    assert answer.request.headers.get("Transfer-Encoding") == "chunked"
    assert answer.status_code == 200 and b"MessageMetadata" in answer.content, answer.content[:800]

    again = signed_bytes(demo_client)
    status, reply_headers, reply = raw_http(workers, http_request(
        workers, "POST", "/ws", again, {**headers, "Content-Length": str(len(again) + 100)}))
    fault = read_answer(status, reply_headers.get("content-type", ""), reply).fault
    assert status == 400 and fault is not None, (status, reply[:800])
    assert (fault.element, fault.code) == ("InvalidContent", "INCOMPLETE_REQUEST"), fault


def test_threaded_workers_serve_concurrent_requests(demo_settings, demo_client):
    """GATEWAY_THREADS > 1: one gthread worker answers 12 signed requests sent at once."""
    from concurrent.futures import ThreadPoolExecutor

    from attacks.kit import signed_bytes

    bodies = [signed_bytes(demo_client) for _ in range(12)]
    for url in _serve(demo_settings, 1, GATEWAY_THREADS="4"):
        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(lambda b: requests.post(
                url, data=b, headers={"Content-Type": "text/xml; charset=utf-8"}, timeout=60), bodies))
        assert [a.status_code for a in answers] == [200] * 12
        assert all(b"requestIsQueued" in a.content for a in answers)


def test_the_group_commit_settings_reach_the_process_group_commit(demo_settings):
    """GATEWAY_GROUP_COMMIT_MAX, GATEWAY_COMMIT_NICE and GATEWAY_COMMIT_FIRST are handed to the
    engine's group commit by build_app (gateway/wiring.py)."""
    import dataclasses

    from gateway.storage.db import make_engine
    from gateway.storage.group_commit import group_commit
    from gateway.wiring import build_app

    engine = make_engine(demo_settings.resolved_database_url)
    try:
        build_app(dataclasses.replace(demo_settings, group_commit_max=7, commit_nice=-4,
                                      commit_first=True), engine=engine)
        group = group_commit(engine)
        assert (group.max_batch, group.nice, group.first) == (7, -4, True)
        build_app(demo_settings, engine=engine)                # the defaults
        assert (group.max_batch, group.nice, group.first) == (64, 0, False)
    finally:
        engine.dispose()
