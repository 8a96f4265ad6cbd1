"""Client addresses and proxies: forwarding headers are believed only from the proxies the
operator names, so throttling and the audit key on the real peer; local mode refuses every
request that comes through a proxy.

Each finding of the red-team pass is one test here, over a real uvicorn server (what
``seawatch serve`` runs) where the server's own handling mattered (uvicorn believed
127.0.0.1's ``X-Forwarded-For`` by default), in-process otherwise. A client socket may bind a
source address of its own in 127.0.0.0/8 (Linux answers the whole block on loopback), so one
machine plays several clients; each test has a state of its own, so the locks it provokes
stay there.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from seawatch.api import create_app
from seawatch.api.server import ServerThread
from seawatch.share.audit import show
from tests.api.conftest import PARTNER, local_client, login

BAD_TOKEN = {"Authorization": "Bearer sw_" + "q" * 43}


def _request(url: str, path: str, headers: dict[str, str] | None = None,
             source: str | None = None, method: str = "GET") -> tuple[int, dict]:
    """One request over a new connection from ``source`` (an address of this machine)."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=20,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return response.status, json.loads(body) if body.startswith(b"{") else {}
    finally:
        conn.close()


def _last_entry(state):
    (entry,) = show(state, limit=1)
    return entry


@contextmanager
def _served(env, **options) -> Iterator[str]:
    app = create_app(env.app.state.query.store.path, state=env.state, **options) \
        if options else env.app
    with ServerThread(app=app) as server:
        yield server.url


# --- finding 1: the client address could be forged ----------------------------------------


def test_forwarded_for_from_loopback_does_not_change_the_audited_client(env):
    """``curl -H 'X-Forwarded-For: 6.6.6.6' .../auth/me`` from loopback was audited as 6.6.6.6
    (uvicorn believed 127.0.0.1's header by default)."""
    with _served(env) as url:
        status, body = _request(url, "/api/v1/auth/me",
                                {**env.headers("admin"), "X-Forwarded-For": "6.6.6.6",
                                 "X-Real-IP": "6.6.6.7", "Forwarded": "for=6.6.6.8"})
    assert status == 200 and body["user"] == "navy-admin"
    entry = _last_entry(env.state)
    assert (entry.action, entry.client) == ("session", "127.0.0.1")
    assert "via" not in entry.params


def test_rotating_forwarded_for_does_not_escape_throttling(env):
    """200 bad tokens with a new X-Forwarded-For each never reached 429."""
    statuses = []
    with _served(env) as url:
        for k in range(8):
            status, _ = _request(url, "/api/v1/events",
                                 {**BAD_TOKEN, "X-Forwarded-For": f"198.51.100.{k + 1}"})
            statuses.append(status)
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
    assert {e.client for e in show(env.state, limit=8)} == {"127.0.0.1"}


def test_forged_forwarded_for_cannot_lock_out_another_client(env):
    """Five bad tokens with ``X-Forwarded-For: 127.0.0.94`` locked that address's valid
    admin out for 900 s."""
    with _served(env) as url:
        for _ in range(6):
            _request(url, "/api/v1/events", {**BAD_TOKEN, "X-Forwarded-For": "127.0.0.94"})
        attacker, _ = _request(url, "/api/v1/events", env.headers("admin"))
        admin, body = _request(url, "/api/v1/auth/me", env.headers("admin"),
                               source="127.0.0.94")
    assert attacker == 429  # the attacker locked itself out, and only itself
    assert admin == 200 and body["user"] == "navy-admin"


def test_uvicorn_proxy_headers_are_off(env):
    """The server seawatch starts does not apply uvicorn's own proxy headers (which trust
    127.0.0.1 by default), whatever FORWARDED_ALLOW_IPS says."""
    from seawatch.api.server import UVICORN_SETTINGS

    assert UVICORN_SETTINGS["proxy_headers"] is False
    server = ServerThread(app=env.app)
    assert server.server.config.proxy_headers is False


def test_a_trusted_proxy_names_the_client(env):
    """Behind a proxy the operator names, each client is its own: the audit records the
    address the proxy reports (and the proxy as ``via``), five failures lock that client
    only, and a client's own forged hop is not believed."""
    app = create_app(env.app.state.query.store.path, state=env.state,
                     trusted_proxies=["127.0.0.1", "10.20.0.0/16"])
    proxy = local_client(app, raise_server_exceptions=False)
    me = proxy.get("/api/v1/auth/me",
                   headers={**env.headers("admin"), "X-Forwarded-For": "203.0.113.7"})
    assert me.status_code == 200
    entry = _last_entry(env.state)
    assert entry.client == "203.0.113.7" and entry.params["via"] == "127.0.0.1"
    # a second proxy in a trusted network, in a chain: the nearest untrusted hop is the client
    proxy.get("/api/v1/auth/me", headers={**env.headers("admin"),
                                          "X-Forwarded-For": "203.0.113.8, 10.20.3.4"})
    assert _last_entry(env.state).client == "203.0.113.8"
    # the attacker at 203.0.113.66 writes a forged hop first; the proxy appends the real one
    attacker = {**BAD_TOKEN, "X-Forwarded-For": "203.0.113.7, 203.0.113.66"}
    codes = [proxy.get("/api/v1/events", headers=attacker).status_code for _ in range(6)]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    assert _last_entry(env.state).client == "203.0.113.66"
    for address in ("203.0.113.7", "203.0.113.8"):
        ok = proxy.get("/api/v1/stats",
                       headers={**env.headers("admin"), "X-Forwarded-For": address})
        assert ok.status_code == 200, address
    # a client that is not a trusted proxy names nobody
    direct = env.client()
    direct.get("/api/v1/auth/me",
               headers={**env.headers("admin"), "X-Forwarded-For": "203.0.113.9"})
    entry = _last_entry(env.state)
    assert entry.client == direct.address and "via" not in entry.params


def test_a_trusted_proxy_sets_the_scheme_for_secure_cookies(env):
    app = create_app(env.app.state.query.store.path, state=env.state,
                     trusted_proxies=["127.0.0.1"])
    proxy = local_client(app, raise_server_exceptions=False,
                         headers={"X-Forwarded-For": "203.0.113.20",
                                  "X-Forwarded-Proto": "https"})
    response = login(proxy)
    assert response.status_code == 200
    assert all("Secure" in c for c in response.headers.get_list("set-cookie"))
    plain = login(env.client(headers={"X-Forwarded-Proto": "https"}))  # not a proxy
    assert plain.status_code == 200
    assert not any("Secure" in c for c in plain.headers.get_list("set-cookie"))


def test_a_broken_forwarded_for_falls_back_to_the_proxy(env):
    app = create_app(env.app.state.query.store.path, state=env.state,
                     trusted_proxies=["127.0.0.1"])
    proxy = local_client(app, raise_server_exceptions=False)
    for value in ("unknown", "not an address", "203.0.113.5, <script>", ""):
        response = proxy.get("/api/v1/auth/me",
                             headers={**env.headers("admin"), "X-Forwarded-For": value})
        assert response.status_code == 200
        assert _last_entry(env.state).client == "127.0.0.1", value


def test_trusted_proxies_are_checked():
    from seawatch.api.security import AuthConfigError, TrustedProxies, check_auth_mode

    for bad in ("nginx", "10.0.0.0/33", "0.0.0.0/0", "::/0", ""):
        with pytest.raises(AuthConfigError, match="--trusted-proxy"):
            TrustedProxies([bad])
    with pytest.raises(AuthConfigError, match="no --trusted-proxy"):
        check_auth_mode("local", "127.0.0.1", ["127.0.0.1"])
    proxies = TrustedProxies(["::1", "127.0.0.0/8"])
    assert proxies.trusts("::ffff:127.0.0.9") and proxies.trusts("[::1]")
    assert not proxies.trusts("128.0.0.1") and not proxies.trusts(None)
    assert proxies.client("::1", ["[2001:db8::5]:4431"]) == "2001:db8::5"
    assert proxies.client("::1", ["203.0.113.5", "127.0.0.1"]) == "203.0.113.5"


# --- finding 2: local mode was reachable through a proxy ----------------------------------


@pytest.mark.parametrize("header", [
    "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Via",
    "X-Real-IP", "True-Client-IP",
])
def test_local_mode_refuses_proxy_headers(store_dir, header):
    client = local_client(create_app(store_dir, auth="local"), raise_server_exceptions=False)
    assert client.get("/api/v1/stats").status_code == 200
    response = client.get("/api/v1/export/positions?format=csv", headers={header: "127.0.0.1"})
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert "local mode" in detail and header.lower() in detail and "proxy" in detail


def test_local_mode_refuses_http_10_as_nginx_forwards_by_default(store_dir):
    """nginx's default ``proxy_pass`` adds no header and names 127.0.0.1:PORT as the host,
    but speaks HTTP/1.0; no browser does."""
    with ServerThread(store_dir, auth="local") as server:
        def raw(version: str) -> bytes:
            with socket.create_connection((server.host, server.port), timeout=20) as sock:
                sock.sendall(f"GET /api/v1/export/positions?format=csv {version}\r\n"
                             f"Host: 127.0.0.1:{server.port}\r\nConnection: close\r\n\r\n"
                             .encode())
                chunks = []
                while chunk := sock.recv(65536):
                    chunks.append(chunk)
                return b"".join(chunks)

        assert raw("HTTP/1.1").startswith(b"HTTP/1.1 200")
        refused = raw("HTTP/1.0")
        assert refused.split(b"\r\n", 1)[0].endswith(b"403 Forbidden")
        assert b"HTTP/1.0" in refused and b"mmsi" not in refused


def test_local_mode_audits_the_refusal(store_dir, tmp_path):
    from seawatch.share.db import open_state

    state = open_state(f"sqlite:///{tmp_path / 'state.db'}")
    client = local_client(create_app(store_dir, auth="local", state=state),
                          raise_server_exceptions=False)
    assert client.get("/api/v1/stats", headers={"Via": "1.1 nginx"}).status_code == 403
    entry = _last_entry(state)
    assert entry.action == "local.refused" and entry.status == "403"
    assert entry.params["request"] == {"refused": "a via header (a proxy)"}


def test_grants_still_work_through_a_trusted_proxy(env):
    """A write through the proxy (bearer token) is the admin's, audited with the client."""
    app = create_app(env.app.state.query.store.path, state=env.state,
                     trusted_proxies=["127.0.0.1"])
    proxy = local_client(app, raise_server_exceptions=False,
                         headers={"X-Forwarded-For": "203.0.113.30"})
    response = proxy.post("/api/v1/grants", headers=env.headers("admin"),
                          json={"grantee": PARTNER, "until": "1h"})
    assert response.status_code == 201
    entry = _last_entry(env.state)
    assert (entry.action, entry.client, entry.actor) == ("grant.create", "203.0.113.30",
                                                         "navy-admin")
