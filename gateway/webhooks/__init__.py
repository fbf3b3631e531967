"""Webhooks: events derived from committed state changes, delivered to information systems'
URLs with a signature, retries and per-application ordering (docs/integration.md)."""
