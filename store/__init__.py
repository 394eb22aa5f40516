"""The store: one database per peer. SQLite file by default, PostgreSQL by URL."""

from store.db import Store, open_store

__all__ = ["Store", "open_store"]
