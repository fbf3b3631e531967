"""The database tables (SQLAlchemy Core). Alembic migrations in ``migrations/`` create them.

Core rather than the ORM: the request path does a handful of inserts per envelope and the
ORM's unit of work would cost more than the rest of the path.
"""
from __future__ import annotations

from sqlalchemy import (BigInteger, Boolean, Column, DateTime, ForeignKey, Index, Integer,
                        LargeBinary, MetaData, String, Table, Text, UniqueConstraint)

metadata = MetaData()

# BIGINT on PostgreSQL, INTEGER (rowid alias, autoincrement) on SQLite.
PK = BigInteger().with_variant(Integer(), "sqlite")

information_systems = Table(
    "information_systems", metadata,
    Column("mnemonic", String(100), primary_key=True),
    Column("name", String(500), nullable=False),
    Column("inn_le", String(12)),
    Column("ogrn", String(15)),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

is_certificates = Table(
    "is_certificates", metadata,
    Column("fingerprint", String(64), primary_key=True),  # SHA-256 of the DER certificate
    Column("mnemonic", String(100), ForeignKey("information_systems.mnemonic"), nullable=False),
    Column("subject", String(1000), nullable=False),
    Column("certificate_pem", Text, nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False),
)

messages = Table(
    "messages", metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("message_id", String(36), nullable=False, unique=True),
    Column("message_type", String(10), nullable=False),  # REQUEST | RESPONSE
    Column("reference_message_id", String(36)),
    Column("sender", String(100), nullable=False),
    Column("recipient", String(100), nullable=False),
    Column("namespace_uri", String(500), nullable=False),
    Column("root_element", String(200), nullable=False),
    Column("content_digest", String(64), nullable=False),  # SHA-256 of the signed element (c14n)
    Column("test_message", Boolean, nullable=False, default=False),
    Column("status", String(40), nullable=False),
    Column("registration_number", String(40), nullable=False, unique=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("envelope", LargeBinary, nullable=False),  # the request, byte for byte
    Column("receipt", LargeBinary, nullable=False),  # the signed receipt returned for it
    # exchange routing (0002)
    Column("reply_to", String(100), unique=True),  # opaque address a provider answers to
    Column("node_id", String(50)),
    Column("transaction_code", String(1500)),
    Column("eol", DateTime(timezone=True)),
)

permissions = Table(
    "permissions", metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("mnemonic", String(100), ForeignKey("information_systems.mnemonic"), nullable=False),
    Column("role", String(5), nullable=False),  # send | serve
    Column("namespace_uri", String(500), nullable=False),
    Column("root_element", String(200), nullable=False),  # "*": every root of the namespace
)
Index("ux_permissions", permissions.c.mnemonic, permissions.c.role, permissions.c.namespace_uri,
      permissions.c.root_element, unique=True)

queue_items = Table(
    "queue_items", metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("message_id", String(36), nullable=False),  # what the recipient acknowledges
    Column("kind", String(8), nullable=False),  # REQUEST | RESPONSE | STATUS
    Column("recipient", String(100), nullable=False),
    Column("node_id", String(50)),
    Column("namespace_uri", String(500), nullable=False),
    Column("root_element", String(200), nullable=False),
    Column("body", LargeBinary, nullable=False),  # the signed element delivered, built once
    Column("state", String(8), nullable=False),  # queued | taken | acked | dead
    Column("visible_at", DateTime(timezone=True), nullable=False),
    Column("deliveries", Integer, nullable=False),
    Column("eol", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("acked_at", DateTime(timezone=True)),
    Column("related_message_id", String(36)),  # the request a response/status is about
)
Index("ix_queue_take", queue_items.c.recipient, queue_items.c.kind, queue_items.c.state,
      queue_items.c.visible_at)
Index("ux_queue_message", queue_items.c.recipient, queue_items.c.kind, queue_items.c.message_id,
      unique=True)

applications = Table(
    "applications", metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("message_pk", PK, ForeignKey("messages.id"), nullable=False),
    Column("domain", String(40), nullable=False),
    Column("kind", String(80), nullable=False),
    Column("organisation_inn", String(12), nullable=False),
    Column("state", String(40), nullable=False),
    Column("registration_number", String(40), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Index("ix_applications_org", applications.c.organisation_inn, applications.c.created_at)
Index("ix_applications_kind_state", applications.c.organisation_inn, applications.c.kind,
      applications.c.state)  # 0004

# Every state an application entered and the accepted message that moved it there (0014): the
# timeline the console shows, and what a handler reads of the requests before this one (a licence
# supplement counts the documents of every earlier supplement). Kept as long as the application.
application_transitions = Table(
    "application_transitions", metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("application_id", PK, ForeignKey("applications.id"), nullable=False),
    Column("message_pk", PK, ForeignKey("messages.id"), nullable=False),
    Column("from_state", String(40)),  # None when the message opened the application
    Column("to_state", String(40), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)
Index("ix_application_transitions", application_transitions.c.application_id,
      application_transitions.c.id)

journal = Table(
    "journal", metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("message_id", String(36)),
    Column("direction", String(3), nullable=False),  # IN | OUT
    Column("event", String(60), nullable=False),
    Column("detail", Text, nullable=False),  # JSON: verification verdict, state change, ...
    Column("content_digest", String(64), nullable=False),  # SHA-256 of the bytes it refers to
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False, unique=True),
    Column("content", LargeBinary),  # the bytes, when no other table keeps them (0003)
)

api_tokens = Table(
    "api_tokens", metadata,
    Column("token_sha256", String(64), primary_key=True),  # only the hash is stored
    Column("mnemonic", String(100), ForeignKey("information_systems.mnemonic"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked", Boolean, nullable=False),
    # scoped API keys (0010): NULL is a token issued before scopes existed, read as history:read
    Column("scopes", String(200)),
    Column("revoked_at", DateTime(timezone=True)),
)

attachments = Table(
    "attachments", metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("message_id", String(36), nullable=False),
    Column("sender", String(100), nullable=False),
    Column("attachment_id", String(200), nullable=False),
    Column("mime_type", String(200), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),  # the file is data_dir/attachments/<sha256>
    Column("received_at", DateTime(timezone=True), nullable=False),
)
Index("ix_attachments_message", attachments.c.message_id)  # 0005
Index("ix_attachments_quota", attachments.c.sender, attachments.c.received_at)

outbox = Table(
    "outbox", metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(80), nullable=False, unique=True),  # "<MessageID>/<n>"
    Column("message_id", String(36), nullable=False),  # whose decision it carries out
    Column("action", String(60), nullable=False),  # a write method of gateway.registers.Registers
    Column("args", Text, nullable=False),  # JSON keyword arguments
    Column("state", String(8), nullable=False),  # pending | done | dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),  # also the claim's lease
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("done_at", DateTime(timezone=True)),
    Column("last_error", String(1000)),
)
Index("ix_outbox_due", outbox.c.state, outbox.c.next_attempt_at)

seen_requests = Table(
    "seen_requests", metadata,
    Column("key", String(64), primary_key=True),  # SHA-256 of operation, signer, signed content
    Column("expires_at", DateTime(timezone=True), nullable=False),  # then freshness refuses it
)
Index("ix_seen_expiry", seen_requests.c.expires_at)

# trusted time (0011): one RFC 3161 token per batch of receipts, over the Merkle root of their
# SignatureValues; each receipt keeps its leaf and Merkle path (gateway/ops/timestamps.py)
timestamp_batches = Table(
    "timestamp_batches", metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("merkle_root", String(64), nullable=False),  # hex SHA-256 node; the token's imprint is its SHA-256
    Column("token", LargeBinary, nullable=False),  # DER ContentInfo (CMS SignedData, TSTInfo)
    Column("gen_time", DateTime(timezone=True), nullable=False),  # the token's genTime
    Column("receipts", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # JSON {"crls": [base64 DER], "ocsps": [...]}: the revocation data the gateway's and the
    # TSA's certificate paths were validated with when the token was stored (null: none kept)
    Column("revocation", Text, nullable=True),
)

receipt_timestamps = Table(
    "receipt_timestamps", metadata,
    Column("message_id", String(36), ForeignKey("messages.message_id"), primary_key=True),
    Column("batch_id", PK, ForeignKey("timestamp_batches.id"), nullable=False),
    Column("leaf", String(64), nullable=False),  # hex leaf hash of the receipt's SignatureValue
    Column("path", Text, nullable=False),  # JSON [["L"|"R", hex sibling], ...] from the leaf up
)

# -- webhooks (0009): events written with the state change they report, delivered afterwards --

webhook_subscriptions = Table(
    "webhook_subscriptions", metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("mnemonic", String(100), ForeignKey("information_systems.mnemonic"), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("events", Text, nullable=False),  # space-separated event types
    Column("secret", String(100), nullable=False),  # HMAC key of X-Signature (shown once)
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

webhook_events = Table(
    "webhook_events", metadata,
    Column("id", PK, primary_key=True, autoincrement=True),  # also the order of events
    Column("event_id", String(36), nullable=False, unique=True),  # the receivers' idempotency key
    Column("type", String(60), nullable=False),
    Column("organisation_inn", String(12)),  # whose IS (inn_le) it is delivered to
    Column("mnemonic", String(100)),  # or this IS directly (certificate.expiring)
    Column("ordering_key", String(100), nullable=False),  # events of one key go out in order
    Column("payload", Text, nullable=False),  # JSON "data" of the body
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("fanned_out", Boolean, nullable=False),  # deliveries created for the subscriptions
)
Index("ix_webhook_events_fan", webhook_events.c.fanned_out, webhook_events.c.id)

webhook_deliveries = Table(
    "webhook_deliveries", metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("event_pk", PK, ForeignKey("webhook_events.id"), nullable=False),
    Column("subscription_id", PK, ForeignKey("webhook_subscriptions.id"), nullable=False),
    Column("ordering_key", String(100), nullable=False),
    Column("state", String(8), nullable=False),  # pending | done | dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),  # also the claim's lease
    Column("expires_at", DateTime(timezone=True), nullable=False),  # then dead-lettered
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("done_at", DateTime(timezone=True)),
    Column("last_status", Integer),  # the receiver's HTTP status of the last attempt
    Column("last_error", String(1000)),
)
Index("ux_webhook_delivery", webhook_deliveries.c.event_pk, webhook_deliveries.c.subscription_id,
      unique=True)
Index("ix_webhook_due", webhook_deliveries.c.state, webhook_deliveries.c.next_attempt_at)
Index("ix_webhook_order", webhook_deliveries.c.subscription_id, webhook_deliveries.c.ordering_key,
      webhook_deliveries.c.state)

# -- operators (0010): people with a role, for the admin API and the console --------------------

operators = Table(
    "operators", metadata,
    Column("username", String(100), primary_key=True),
    Column("role", String(20), nullable=False),  # operator | controller | administrator
    Column("password_hash", String(300), nullable=False),  # scrypt, salted (gateway/http/access.py)
    Column("disabled", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

operator_sessions = Table(
    "operator_sessions", metadata,
    Column("token_sha256", String(64), primary_key=True),  # only the hash is stored
    Column("username", String(100), ForeignKey("operators.username"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# failed operator logins, one row each, counted per key ("user:<sha-256 of the name>" or
# "addr:<client address>") within the window of access.login; rows older than it are pruned
login_failures = Table(
    "login_failures", metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("key", String(80), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_login_failures_key_at", "key", "at"),
)
# -- notifications (0016): what is coming, announced once per subject and threshold -----------

notifications = Table(
    "notifications", metadata,
    Column("id", PK, primary_key=True, autoincrement=True),
    Column("kind", String(60), nullable=False),  # the event type: certificate.expiring, ...
    Column("subject", String(200), nullable=False),  # what it is about: certificate:<sha256>, ...
    Column("threshold_days", Integer, nullable=False),  # the notice crossed; 0: the date has passed
    Column("organisation_inn", String(12)),  # delivered to the IS of this organisation ...
    Column("mnemonic", String(100)),  # ... or to this IS
    Column("due_at", DateTime(timezone=True), nullable=False),  # the end date or deadline
    Column("event_id", String(36), nullable=False),  # the webhook event carrying it
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("kind", "subject", "threshold_days", name="ux_notification_once"),
)
Index("ix_notifications_created", notifications.c.created_at)

person_certificates = Table(
    "person_certificates", metadata,
    Column("fingerprint", String(64), primary_key=True),  # SHA-256 of the DER certificate
    Column("organisation_inn", String(12), primary_key=True),  # for whom the person signed
    Column("person_inn", String(12)),
    Column("subject", String(1000), nullable=False),
    Column("not_after", DateTime(timezone=True), nullable=False),
    Column("message_id", String(36), nullable=False),  # the first request it signed
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
)
Index("ix_webhook_deliveries_done", webhook_deliveries.c.state, webhook_deliveries.c.done_at)
