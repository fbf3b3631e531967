"""``GATEWAY_SERVER=granian`` (gateway/http/server.py): the gateway served by granian, real
processes on 127.0.0.1, on the database GATEWAY_TEST_DB selects. What gunicorn's sync workers
cannot do (several requests on one kept-alive connection), and what they do that granian must
do as well: refuse an oversized body before reading it, take a chunked one, replace a killed
worker, add up the metrics of all workers, answer a repeated MessageID with the original."""
from __future__ import annotations

import http.client
import os
import signal
import socket
import time

import pytest
from lxml import etree

from conftest import new_database
from gateway.ops.bench import presign
from gateway.ops.cluster import Stack, children, wait_http


@pytest.fixture(scope="module")
def granian_node(tmp_path_factory):
    with new_database(tmp_path_factory) as url:
        stack = Stack(url, data_dir=tmp_path_factory.mktemp("granian"), GATEWAY_SERVER="granian",
                      GATEWAY_THREADS="2").start()
        node = stack.node(workers=2)
        try:
            node.start()
            bodies = presign(stack.data_dir, 8)
            yield stack, node, bodies
        finally:
            node.stop()
            stack.stop()


def _post(conn: http.client.HTTPConnection, content_type: str, body: bytes,
          **headers) -> tuple[int, bytes, dict]:
    conn.request("POST", "/ws", body=body, headers={"Content-Type": content_type,
                                                    "SOAPAction": '"urn:SendRequest"', **headers})
    reply = conn.getresponse()
    return reply.status, reply.read(), dict(reply.getheaders())


def _status(receipt: bytes) -> str:
    """The receipt's MessageMetadata/Status."""
    return next(e.text for e in etree.fromstring(receipt).iter()
                if etree.QName(e).localname == "Status")


def test_several_envelopes_on_one_kept_alive_connection(granian_node):
    _stack, node, bodies = granian_node
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)
    receipts = []
    for content_type, body in bodies[:3]:
        status, reply, headers = _post(conn, content_type, body)
        assert status == 200, reply[:2000]
        assert headers.get("connection", "").lower() != "close"
        receipts.append(reply)
        if len(receipts) == 1:
            first_socket = conn.sock
        assert conn.sock is first_socket  # the same TCP connection carried every request
    assert all(_status(r) == "requestIsQueued" for r in receipts)
    # the first MessageID again, on the same connection: the original receipt, byte for byte
    status, again, _ = _post(conn, *bodies[0])
    assert status == 200 and again == receipts[0]
    conn.close()


def test_an_oversized_body_is_refused_before_it_is_read(granian_node):
    _stack, node, _bodies = granian_node
    with socket.create_connection(("127.0.0.1", node.port), timeout=30) as sock:
        size = 400 * 1024 * 1024  # announced, never sent: the answer comes without it
        sock.sendall(f"POST /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n"
                     f"Content-Length: {size}\r\n\r\n".encode() + b"<" * 4096)
        head = sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 413"), head[:300]


def test_a_chunked_request_is_taken(granian_node):
    _stack, node, bodies = granian_node
    content_type, body = bodies[3]
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)
    conn.putrequest("POST", "/ws")
    conn.putheader("Content-Type", content_type)
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    for at in range(0, len(body), 1000):
        part = body[at:at + 1000]
        conn.send(b"%x\r\n%s\r\n" % (len(part), part))
    conn.send(b"0\r\n\r\n")
    reply = conn.getresponse()
    text = reply.read()
    assert reply.status == 200, text[:2000]
    assert _status(text) == "requestIsQueued"
    conn.close()


def test_a_killed_worker_is_replaced_and_metrics_add_up_all_workers(granian_node):
    import requests

    _stack, node, bodies = granian_node
    before = set(node.worker_pids())
    assert len(before) == 2, before
    victim = sorted(before)[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = set(children(node.process.pid))
        if victim not in now and len(now) == 2:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"the killed worker {victim} was not replaced: {children(node.process.pid)}")
    wait_http(f"http://127.0.0.1:{node.port}/health")
    # new connections reach a worker that answers (each connection may land on either)
    for content_type, body in bodies[4:8]:
        conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)
        status, reply, _ = _post(conn, content_type, body)
        conn.close()
        assert status == 200, reply[:2000]
    metrics = requests.get(f"http://127.0.0.1:{node.port}/metrics", timeout=30).text
    line = next(x for x in metrics.splitlines()
                if x.startswith("gateway_write_transactions_total"))
    # 3 + 1 chunked + 4 stored envelopes at least (the replay wrote nothing), across workers
    assert float(line.split()[-1]) >= 8, line


def test_a_crash_loop_restarts_the_server_instead_of_ending_it(granian_node):
    """Two SIGKILLs of one worker slot within 5.5 s make granian stop the whole server (its
    crash-loop rule); `gateway serve` starts it again, as gunicorn goes on replacing workers."""
    _stack, node, bodies = granian_node
    master = node.process.pid
    before = set(node.worker_pids())
    victim = sorted(before)[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    replacement = None
    while time.monotonic() < deadline and replacement is None:
        new = set(children(master)) - before
        replacement = next(iter(new), None)
        time.sleep(0.05)
    assert replacement is not None, "the killed worker was not replaced"
    old = set(children(master))
    os.kill(replacement, signal.SIGKILL)   # the same slot again, at once: a "crash loop"
    deadline = time.monotonic() + 60
    while "starting it again" not in node.log.read_text(errors="replace"):
        assert time.monotonic() < deadline, "gateway serve did not start granian again"
        assert node.process.poll() is None, "gateway serve ended with granian"
        time.sleep(0.2)
    while not (len(node.worker_pids()) == 2 and not set(node.worker_pids()) & old):
        assert time.monotonic() < deadline, node.worker_pids()
        time.sleep(0.2)
    wait_http(f"http://127.0.0.1:{node.port}/health", timeout=60)
    assert node.process.poll() is None and node.process.pid == master
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)
    status, reply, _ = _post(conn, *bodies[7])   # answered before: the same receipt again
    conn.close()
    assert status == 200, reply[:2000]
