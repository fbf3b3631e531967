"""Where webhooks may go: public addresses, and the networks of ``GATEWAY_WEBHOOK_ALLOWED_NETWORKS``.

An IS holding ``webhooks:manage`` chooses the URL the gateway POSTs to, so without a rule it
could make the gateway reach loopback, link-local (cloud metadata) or private services. The rule
is applied twice: when a subscription is made (every address its host resolves to must be
allowed) and at each delivery on the socket actually connected — after DNS resolution, so a name
that resolved to a public address at subscription time and to 127.0.0.1 later (DNS rebinding) is
refused before a byte of the request is sent."""
from __future__ import annotations

import ipaddress
import socket
from typing import Callable, Iterable
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

Networks = tuple  # of ipaddress.IPv4Network | IPv6Network


def allowed(address: str, networks: Networks) -> bool:
    """A global unicast address, or one inside an allowed network."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    if any(ip in net for net in networks if net.version == ip.version):
        return True
    return ip.is_global and not ip.is_multicast


def refusal(url: str, networks: Networks,
            resolve: Callable[..., list] = socket.getaddrinfo) -> str | None:
    """Why a subscription to ``url`` is refused (None: allowed)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = {info[4][0] for info in resolve(host, port, proto=socket.IPPROTO_TCP)}
    except (OSError, ValueError) as exc:
        return f"the host {host} does not resolve ({exc})"
    bad = sorted(a for a in addresses if not allowed(a, networks))
    if bad:
        return (f"{host} resolves to {', '.join(bad)}: loopback, link-local, private and reserved "
                "addresses need GATEWAY_WEBHOOK_ALLOWED_NETWORKS")
    return None


def _guarded(base):
    class Guarded(base):
        allowed_networks: Networks = ()

        def _new_conn(self):
            sock = super()._new_conn()
            peer = sock.getpeername()[0]
            if not allowed(peer, self.allowed_networks):
                sock.close()
                raise NewConnectionError(self, f"destination {peer} is not allowed "
                                               "(GATEWAY_WEBHOOK_ALLOWED_NETWORKS)")
            return sock
    return Guarded


class _Adapter(HTTPAdapter):
    def __init__(self, networks: Networks):
        self._classes = {}
        for scheme, pool, conn in (("http", HTTPConnectionPool, HTTPConnection),
                                   ("https", HTTPSConnectionPool, HTTPSConnection)):
            guarded = type(f"Guarded{conn.__name__}", (_guarded(conn),), {"allowed_networks": networks})
            self._classes[scheme] = type(f"Guarded{pool.__name__}", (pool,), {"ConnectionCls": guarded})
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(self._classes)


def session(networks: Iterable = ()) -> requests.Session:
    """A requests session that connects only to allowed addresses."""
    s = requests.Session()
    adapter = _Adapter(tuple(networks))
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s
