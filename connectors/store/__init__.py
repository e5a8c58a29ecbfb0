"""The event log: the store port (`EventStore`), its SQLite and PostgreSQL adapters and its
in-memory fake.

Import from here; which module holds what is the package's own business. The PostgreSQL adapter
is the exception: import it from `store.postgres`, so that commands on a SQLite file never load
its driver.
"""

from dutydesk.connectors.store.chain import FACT_COLUMNS, FACTS_V4, GENESIS, READ_BATCH
from dutydesk.connectors.store.memory import MemoryEventStore, MemoryLog
from dutydesk.connectors.store.port import (
    DuplicateKeyError,
    EventStore,
    FactRow,
    Recorded,
    StorageUnavailable,
    StoreError,
    Transaction,
    Verification,
)
from dutydesk.connectors.store.schema import SCHEMA_VERSION
from dutydesk.connectors.store.sqlite import SqliteEventStore

__all__ = [
    "FACTS_V4",
    "FACT_COLUMNS",
    "GENESIS",
    "READ_BATCH",
    "SCHEMA_VERSION",
    "DuplicateKeyError",
    "EventStore",
    "FactRow",
    "MemoryEventStore",
    "MemoryLog",
    "Recorded",
    "SqliteEventStore",
    "StorageUnavailable",
    "StoreError",
    "Transaction",
    "Verification",
]
