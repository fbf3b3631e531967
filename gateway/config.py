"""Gateway settings: one typed object, read from ``GATEWAY_*`` environment variables.

Every default is the safe one; loosening a check is an explicit, documented setting
(see docs/configuration.md). This is the only place the gateway reads its environment:
tests/unit/test_configuration.py fails on a ``GATEWAY_*`` read elsewhere and on a variable
missing from docs/configuration.md.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTRACT_DIRS = {"wsdl": ROOT / "wsdl", "xsd": ROOT / "xsd"}
DEMO_ALGORITHMS = ("rsa-ec", "gost2012-256", "gost2012-512")


def _bool(value: str) -> bool:
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"not a boolean: {value!r}")


#: app threads per granian worker when GATEWAY_THREADS is not set (Settings.app_threads)
GRANIAN_THREADS = 16


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the gateway reads from its environment.

    ``data_dir`` holds the demo PKI, the gateway's key and the SQLite database.
    """

    data_dir: Path = ROOT / "var"
    database_url: str = ""  # empty: SQLite file in data_dir
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 4
    # the HTTP server: gunicorn (sync or gthread workers, a connection per request with sync)
    # or granian (keep-alive, the app on GATEWAY_THREADS threads): gateway/http/server.py
    server: str = "gunicorn"
    # per worker; 0: the server's own default (app_threads). gunicorn above 1: gthread workers
    # (slow clients hold a thread, not a process)
    threads: int = 0
    # most requests of one worker that share one COMMIT (gateway/storage/group_commit.py); 1: each commits alone
    group_commit_max: int = 64
    # scheduling priority (nice, -20..0) of a group commit's leader while it commits; 0: unchanged.
    # Below 0 needs CAP_SYS_NICE or RLIMIT_NICE (gateway/storage/group_commit.py)
    commit_nice: int = 0
    # Linux: threads that write run under SCHED_BATCH and a group commit's leader under
    # SCHED_OTHER while it commits, so it runs first when it wakes (no privilege needed).
    # Opt-in: a full CI run with it on met a chaos-test refusal not yet explained (docs)
    commit_first: bool = False
    # SQLite: seconds between a serving process's WAL checkpoints, run in a thread of their own
    # instead of inside a request's COMMIT (gateway/storage/checkpoints.py); 0: COMMITs checkpoint
    sqlite_checkpoint_seconds: float = 1.0
    public_url: str = ""  # empty: http://host:port
    access_log: str = ""  # gunicorn access log file, "-" for stdout; empty: none

    # transport and parsing limits
    # SMEV 3 caps a message at 5 MB (larger files go as attachments); every byte an anonymous
    # sender may send is CPU spent before the trust decision
    max_body_bytes: int = 5 * 1024 * 1024
    max_depth: int = 64
    max_elements: int = 50_000
    max_namespaces: int = 128  # declarations in scope on any one element
    max_attributes: int = 20_000  # in the whole document, namespace declarations included

    # attachments (MTOM/XOP parts or inline base64)
    max_attachment_bytes: int = 100 * 1024 * 1024  # per message: AttachmentSizeLimitExceeded
    max_attachment_parts: int = 100
    attachment_delivery: str = "mtom"  # how GetRequest/GetResponse deliver files: mtom | inline
    attachment_quota_bytes_per_day: int = 10 * 1024 ** 3  # per sender: QuoteLimitExceeded

    # message identity
    message_id_max_age_seconds: int = 24 * 3600
    message_id_max_future_seconds: int = 300

    participants_cache_seconds: float = 5.0  # how soon a disabled IS or a new permission applies

    # exchange
    visibility_timeout_seconds: int = 300  # a taken, unacknowledged message comes back after this
    max_deliveries: int = 20  # then it is dead-lettered and its sender told
    max_queue_depth: int = 100_000  # pending messages per recipient before DestinationOverflow
    request_timestamp_skew_seconds: int = 300  # signed selectors/timestamps must be this fresh
    replay_memory_seconds: int = 7 * 24 * 3600  # how long a signed Ack (no timestamp) is remembered
    transaction_code_pattern: str = r"^[0-9A-Za-z_.:/-]{1,100}$"

    # trust
    # which signature algorithms are accepted and used: smev (GOST R 34.10/34.11-2012 only, as
    # on the real bus) | international (RSA/ECDSA only) | all (both)
    algorithms: str = "all"
    revocation: str = "hard-fail"  # hard-fail | soft-fail | off
    revocation_timeout: float = 3.0
    ca_url: str = "http://127.0.0.1:8090"  # where the demo CA stub serves CRL/OCSP
    # key type of the demo PKI made by `gateway setup`: rsa-ec (EC CAs, RSA/EC leaves) |
    # gost2012-256 | gost2012-512 (every certificate, CRL and OCSP answer in GOST); empty: the
    # existing PKI's kind, rsa-ec for a new one. A PKI of another kind is refused, not mixed.
    demo_algorithm: str = ""

    # trusted time: an RFC 3161 token per batch of receipts, obtained off the request path
    tsa_url: str = ""  # empty: no tokens; the demo's TSA stub serves http://127.0.0.1:8092/tsr
    timestamp_interval_seconds: float = 1.0  # one token per this many seconds (when receipts wait)

    # POST /api/v1/validate without a bearer token from 127.0.0.1/::1 (a demo on one machine)
    validate_open_on_loopback: bool = False

    # state registers (registry_stubs/registers.py in the demo)
    registers_url: str = "http://127.0.0.1:8091"
    registers_timeout: float = 2.0
    registers_cache_seconds: float = 60.0  # legal entities and persons; never powers of attorney
    # register writes decided by handlers go through the outbox (carried out after the commit)
    outbox_lease_seconds: float = 30.0  # a row not done by then is taken over by a dispatcher
    outbox_poll_seconds: float = 1.0  # how often each serving process looks for such rows
    # webhooks (gateway/webhooks/): delivered by the background thread of every serving process
    webhook_timeout_seconds: float = 5.0  # per delivery attempt; slower receivers count as failed
    webhook_max_age_seconds: int = 24 * 3600  # a delivery not accepted by then is dead-lettered
    webhook_max_attempts: int = 15  # attempts before a delivery is dead-lettered
    webhook_lease_seconds: float = 30.0  # a claimed delivery not settled by then is taken over
    # operator logins (POST /api/v1/session, the console): failures counted in the database
    login_max_failures: int = 5  # per username within the window, then 429 until it passes
    login_max_failures_per_address: int = 20  # per client address within the window
    login_window_seconds: int = 900
    webhook_allowed_networks: str = ""  # CIDRs (comma-separated) a webhook may reach besides public addresses
    webhook_retention_days: int = 30  # done deliveries (and their events) older than this are deleted; 0: keep
    webhook_dead_retention_days: int = 90  # dead-lettered deliveries not replayed by then are deleted; 0: keep
    # notifications of what is coming (gateway/ops/notifications.py), days before the date
    notify_certificate_days: str = "30,15"  # certificates of systems, heads and representatives
    notify_poa_days: str = "30,15"  # powers of attorney
    notify_deadline_days: str = "10,3"  # report deadlines of the reporting calendar
    journal_content_retention_days: int = 90  # kept bytes of older journal entries are dropped; 0: keep

    # the gateway's own identity and receipt signing
    mnemonic: str = "GATEWAY"
    human_readable_name: str = "SMEV-style integration gateway"
    receipt_profile: str = "smev"  # smev | w3c
    receipt_signature_method: str = ""  # XMLDSig URI; empty: rsa-sha256 / ecdsa-sha256|384 / GOST 2012-256|512 by key
    receipt_digest_method: str = ""  # XMLDSig URI; empty: the method's Streebog for GOST, else SHA-256
    signing_key: str = ""  # empty: data_dir/pki/gateway.key
    signing_cert: str = ""  # empty: data_dir/pki/gateway.pem
    # SMEV transform: native (C over libxml2's exc-c14n, the production path) | reference (the
    # pure-Python one the tests compare it with; for debugging a digest mismatch)
    smev_transform: str = "native"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'gateway.db'}"

    @property
    def app_threads(self) -> int:
        """Threads per worker that run the app: ``threads``, or when 0 the server's default.
        gunicorn: 1, its sync workers (the least CPU per request). granian: 16, where a worker's
        requests share group commits (docs/performance.md, «The leader's statements»: of 1, 8
        and 16, 16 answered the most in every round, on SQLite and on PostgreSQL)."""
        return self.threads or (GRANIAN_THREADS if self.server == "granian" else 1)

    @property
    def pki_dir(self) -> Path:
        return self.data_dir / "pki"

    @property
    def attachments_dir(self) -> Path:
        return self.data_dir / "attachments"

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def trust_dir(self) -> Path:
        """``anchors/*.pem`` are trust anchors, ``intermediates/*.pem`` known intermediates."""
        return self.data_dir / "trust"

    @property
    def signing_key_path(self) -> Path:
        return Path(self.signing_key) if self.signing_key else self.pki_dir / "gateway.key"

    @property
    def signing_cert_path(self) -> Path:
        return Path(self.signing_cert) if self.signing_cert else self.pki_dir / "gateway.pem"

    @property
    def webhook_networks(self) -> tuple:
        """The private networks webhooks may reach (GATEWAY_WEBHOOK_ALLOWED_NETWORKS, parsed)."""
        return networks(self.webhook_allowed_networks)

    @property
    def endpoint(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/") + "/ws"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "Settings":
        """Read ``GATEWAY_<FIELD>`` variables; explicit ``overrides`` win."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for field in dataclasses.fields(cls):
            raw = env.get(f"GATEWAY_{field.name.upper()}")
            if raw is None:
                continue
            kind = field.type if isinstance(field.type, str) else field.type.__name__
            if kind == "int":
                values[field.name] = int(raw)
            elif kind == "float":
                values[field.name] = float(raw)
            elif kind == "bool":
                values[field.name] = _bool(raw)
            elif kind == "Path":
                values[field.name] = Path(raw)
            else:
                values[field.name] = raw
        values.update(overrides)
        settings = cls(**values)
        if settings.revocation not in ("hard-fail", "soft-fail", "off"):
            raise ValueError(f"GATEWAY_REVOCATION must be hard-fail, soft-fail or off, not {settings.revocation!r}")
        if settings.algorithms not in ("smev", "international", "all"):
            raise ValueError("GATEWAY_ALGORITHMS must be smev, international or all, not "
                             f"{settings.algorithms!r}")
        if settings.demo_algorithm and settings.demo_algorithm not in DEMO_ALGORITHMS:
            raise ValueError(f"GATEWAY_DEMO_ALGORITHM must be one of {', '.join(DEMO_ALGORITHMS)}, "
                             f"not {settings.demo_algorithm!r}")
        if settings.server not in ("gunicorn", "granian"):
            raise ValueError(f"GATEWAY_SERVER must be gunicorn or granian, not {settings.server!r}")
        if settings.threads < 0:
            raise ValueError(f"GATEWAY_THREADS must be 0 (the server's default) or more, not {settings.threads}")
        if not -20 <= settings.commit_nice <= 0:
            raise ValueError(f"GATEWAY_COMMIT_NICE must be between -20 and 0, not {settings.commit_nice}")
        if settings.group_commit_max < 1:
            raise ValueError(f"GATEWAY_GROUP_COMMIT_MAX must be 1 or more, not {settings.group_commit_max}")
        if settings.sqlite_checkpoint_seconds < 0:
            raise ValueError("GATEWAY_SQLITE_CHECKPOINT_SECONDS must be 0 (COMMITs checkpoint) or "
                             f"more, not {settings.sqlite_checkpoint_seconds}")
        if settings.receipt_profile not in ("smev", "w3c"):
            raise ValueError(f"GATEWAY_RECEIPT_PROFILE must be smev or w3c, not {settings.receipt_profile!r}")
        if settings.attachment_delivery not in ("mtom", "inline"):
            raise ValueError("GATEWAY_ATTACHMENT_DELIVERY must be mtom or inline, not "
                             f"{settings.attachment_delivery!r}")
        for name in ("notify_certificate_days", "notify_poa_days", "notify_deadline_days"):
            days(getattr(settings, name), f"GATEWAY_{name.upper()}")
        networks(settings.webhook_allowed_networks)
        if settings.smev_transform not in ("native", "reference"):
            raise ValueError("GATEWAY_SMEV_TRANSFORM must be native or reference, not "
                             f"{settings.smev_transform!r}")
        return settings


def days(text: str, what: str = "thresholds") -> tuple[int, ...]:
    """``"30,15"`` -> (30, 15): the notice thresholds in days, largest first."""
    try:
        values = sorted({int(part) for part in text.replace(" ", "").split(",") if part}, reverse=True)
    except ValueError:
        raise ValueError(f"{what} must be whole days separated by commas, not {text!r}") from None
    if any(v <= 0 for v in values):
        raise ValueError(f"{what} must be positive days, not {text!r}")
    return tuple(values)


def networks(text: str) -> tuple:
    """``"127.0.0.0/8, 10.1.0.0/16"`` -> the ip_network objects (a bare address is a /32 or /128)."""
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False)
                     for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise ValueError(f"GATEWAY_WEBHOOK_ALLOWED_NETWORKS: {exc}") from None
