"""The operator login rate limit: failures counted in the database per username and per client
address (so every gunicorn worker, and the console, sees the same counts); beyond the limit a
429 with Retry-After that says nothing of whether the user exists. Runs on SQLite and on
PostgreSQL (GATEWAY_TEST_DB)."""
from __future__ import annotations

import dataclasses
import io
import json
import uuid
from datetime import datetime, timedelta, timezone
from wsgiref.util import setup_testing_defaults

import pytest

from gateway.http import access
from gateway.http.access import Denied, LoginLimits

PASSWORD = "a long enough password"
LIMITS = LoginLimits(per_user=3, per_address=5, window_seconds=600)


@pytest.fixture
def user(engine):
    name = f"op-{uuid.uuid4().hex[:8]}"
    access.add_operator(engine, name, "operator", PASSWORD, "test")
    return name


def address() -> str:
    """A client address of this test alone: counts of other tests do not reach it."""
    return f"198.51.100.{uuid.uuid4().int % 250 + 1}-{uuid.uuid4().hex[:6]}"


def fail(engine, username, client, now, times=1):
    for _ in range(times):
        with pytest.raises(Denied) as refused:
            access.login(engine, username, "wrong password!", now, client=client, limits=LIMITS)
        assert refused.value.status == 401


def test_after_the_limit_per_username_even_the_right_password_is_429(engine, user):
    now, client = datetime.now(timezone.utc), address()
    fail(engine, user, client, now, times=3)
    with pytest.raises(Denied) as refused:
        access.login(engine, user, PASSWORD, now + timedelta(seconds=10), client=client,
                     limits=LIMITS)
    assert refused.value.status == 429
    assert refused.value.retry_after == 590  # when the oldest failure leaves the window
    # from another address the username is still blocked: a distributed guess gains nothing
    with pytest.raises(Denied) as elsewhere:
        access.login(engine, user, PASSWORD, now + timedelta(seconds=10), client=address(),
                     limits=LIMITS)
    assert elsewhere.value.status == 429
    # once the window has passed the right password works, and clears the username's count
    later = now + timedelta(seconds=601)
    token, role, _ = access.login(engine, user, PASSWORD, later, client=client, limits=LIMITS)
    assert role == "operator" and token
    fail(engine, user, client, later, times=2)  # a fresh count: two more failures allowed
    access.login(engine, user, PASSWORD, later, client=client, limits=LIMITS)


def test_an_unknown_user_is_limited_exactly_like_a_known_one(engine, user):
    now = datetime.now(timezone.utc)
    ghost = f"nobody-{uuid.uuid4().hex[:8]}"
    answers = {}
    for name in (user, ghost):
        fail(engine, name, address(), now, times=3)
        with pytest.raises(Denied) as refused:
            access.login(engine, name, "wrong password!", now, client=address(), limits=LIMITS)
        answers[name] = (refused.value.status, refused.value.message, refused.value.retry_after)
    assert answers[user] == answers[ghost] == (429, "too many failed logins; try again in 600 s",
                                               600)


def test_the_limit_per_address_covers_many_usernames(engine, user):
    now, client = datetime.now(timezone.utc), address()
    for n in range(5):  # five different names, one failure each: under every per-user limit
        fail(engine, f"spray-{n}-{uuid.uuid4().hex[:6]}", client, now)
    with pytest.raises(Denied) as refused:
        access.login(engine, user, PASSWORD, now, client=client, limits=LIMITS)
    assert refused.value.status == 429 and refused.value.retry_after == 600
    # the same user from elsewhere is not affected by that address
    access.login(engine, user, PASSWORD, now, client=address(), limits=LIMITS)


def test_old_failures_are_pruned_when_new_ones_are_counted(engine):
    from sqlalchemy import func, select

    from gateway.storage.schema import login_failures

    long_ago = datetime.now(timezone.utc) - timedelta(days=30)
    fail(engine, f"old-{uuid.uuid4().hex[:6]}", address(), long_ago)
    fail(engine, f"new-{uuid.uuid4().hex[:6]}", address(), datetime.now(timezone.utc))
    with engine.connect() as conn:
        stale = conn.execute(select(func.count()).select_from(login_failures)
                             .where(login_failures.c.at < long_ago + timedelta(days=1))).scalar()
    assert stale == 0


def _post_session(app, body: dict, remote: str):
    data = json.dumps(body).encode()
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/v1/session",
               "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(data)),
               "REMOTE_ADDR": remote, "wsgi.input": io.BytesIO(data)}
    setup_testing_defaults(environ)
    seen = {}

    def start_response(status, headers):
        seen["status"], seen["headers"] = int(status.split()[0]), dict(headers)

    answer = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], json.loads(answer)


def test_post_session_answers_429_with_retry_after(demo_settings, engine, user):
    """Through the WSGI app with the limits from the settings (GATEWAY_LOGIN_*) and the
    client address from REMOTE_ADDR, as gunicorn hands it over."""
    from gateway.wiring import build_app

    settings = dataclasses.replace(demo_settings, login_max_failures=2,
                                   login_max_failures_per_address=50, login_window_seconds=120)
    app = build_app(settings, engine=engine)
    remote = address()
    for _ in range(2):
        status, headers, _ = _post_session(app, {"username": user, "password": "nope nope"},
                                           remote)
        assert status == 401
    status, headers, body = _post_session(app, {"username": user, "password": PASSWORD}, remote)
    assert status == 429
    assert 110 <= int(headers["Retry-After"]) <= 120
    assert body["error"].startswith("too many failed logins")
    assert "WWW-Authenticate" not in headers


def test_the_console_login_shares_the_limit(demo_settings, engine, user):
    """The console's form calls the same access.login: failures made over the REST login count
    there, and a blocked console login is 429 with Retry-After and says so (both languages)."""
    import re
    from http.cookies import SimpleCookie
    from urllib.parse import urlencode

    from gateway.wiring import build_app

    settings = dataclasses.replace(demo_settings, login_max_failures=2,
                                   login_max_failures_per_address=50, login_window_seconds=300)
    app = build_app(settings, engine=engine)
    remote = address()
    for _ in range(2):  # over REST
        assert _post_session(app, {"username": user, "password": "nope nope"}, remote)[0] == 401

    def call(method, path, body=b"", cookie=""):
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "REMOTE_ADDR": remote,
                   "CONTENT_TYPE": "application/x-www-form-urlencoded",
                   "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
                   "HTTP_COOKIE": cookie}
        setup_testing_defaults(environ)
        seen = {}

        def start_response(status, headers):
            seen["status"], seen["headers"] = int(status.split()[0]), headers

        page = b"".join(app(environ, start_response)).decode()
        return seen["status"], seen["headers"], page

    status, headers, page = call("GET", "/console/login")
    cookies = SimpleCookie()
    for name, value in headers:
        if name.lower() == "set-cookie":
            cookies.load(value)
    cookie = "; ".join(f"{k}={m.value}" for k, m in cookies.items())
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    form = urlencode({"username": user, "password": PASSWORD, "csrf": csrf}).encode()
    status, headers, page = call("POST", "/console/login", form, cookie)
    assert status == 429, page[:500]
    assert 290 <= int(dict(headers)["Retry-After"]) <= 300
    assert "login-error" in page and ("Too many failed logins" in page
                                      or "Слишком много неудачных попыток" in page)
