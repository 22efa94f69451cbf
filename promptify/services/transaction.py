"""Write transactions: one per service call, all or nothing (docs/operations.md, "SQLite").

Reads run in ordinary (deferred) transactions, which on SQLite never block anyone. A service that
writes wraps its work in `write()`: any read transaction still open is ended, the new one takes
SQLite's write lock at `BEGIN IMMEDIATE` (a deferred transaction that has read cannot always be
upgraded to a writer, and would fail instead of waiting), it commits at the end and rolls back
on any exception. The lock is held only for the block: never while a client is sending a body.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy.exc import OperationalError

from promptify.extensions import WRITE_TRANSACTION, db

T = TypeVar("T")
RETRYABLE_SQLSTATES = {"40001", "40P01"}  # PostgreSQL: serialization failure, deadlock detected
ATTEMPTS = 3


def in_write_transaction() -> bool:
    if not db.session().in_transaction():
        return False
    return bool(db.session.connection().get_execution_options().get(WRITE_TRANSACTION))


def begin_write() -> None:
    """Start a write transaction now (ending a read one first), for a request that will write."""
    if in_write_transaction():
        return
    if db.session().in_transaction():
        db.session.commit()
    db.session.connection(execution_options={WRITE_TRANSACTION: True})


@contextmanager
def write() -> Iterator[None]:
    """Run the block in one write transaction: commit at the end, roll back on any exception."""
    begin_write()
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def is_retryable(error: OperationalError) -> bool:
    """A conflict with a concurrent transaction that running again resolves (not an outage)."""
    return getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def write_with_retry(work: Callable[[], T], attempts: int = ATTEMPTS) -> T:
    """`work()` in a write transaction, run again when PostgreSQL picked it as a deadlock or
    serialization victim (all of it was rolled back, so running it again is safe)."""
    for attempt in range(attempts):
        try:
            with write():
                return work()
        except OperationalError as error:
            if not is_retryable(error) or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
