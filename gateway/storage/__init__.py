"""Persistence: SQLAlchemy Core tables, engines for SQLite (WAL) and PostgreSQL, migrations."""
