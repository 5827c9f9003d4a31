"""The persistence outbox (``contract.persist_outbox``) as the task uses it: a batch that cannot be
written is set aside, a batch already written is skipped, and each database has its own."""

from __future__ import annotations

import pytest
from django.db import connection

from contract import jsonfast
from history.outbox import outbox
from history.tasks import persist_events

MALFORMED = {"v": 2, "fields": {"Trade": ["seq"]}, "rows": {"Trade": [[1]]}}  # a Trade lacking fields


def test_a_batch_that_cannot_be_written_moves_to_the_dead_letters(db, redis_conn):
    entry_id = outbox().put(redis_conn, jsonfast.dumps(MALFORMED))

    with pytest.raises(ValueError, match="lacks"):
        persist_events(entry_id)

    assert outbox().pending(redis_conn) == []
    dead = redis_conn.xrange(outbox().name + ".dead")
    assert [fields[b"id"].decode() for _, fields in dead] == [entry_id]
    assert jsonfast.loads(redis_conn.get(f"{outbox().name}.dead:{entry_id}")) == MALFORMED


def test_an_entry_no_longer_in_the_outbox_is_skipped(db, redis_conn):
    assert persist_events("1-0") == {"events": 0, "outbox": "1-0"}


def test_the_outbox_is_named_after_the_database(db):
    assert outbox().name == f"persist.outbox.{connection.settings_dict['NAME']}"


def test_pending_lists_only_entries_older_than_asked(db, redis_conn):
    entry_id = outbox().put(redis_conn, b"{}")

    assert outbox().pending(redis_conn) == [entry_id]
    assert outbox().pending(redis_conn, older_than_ms=60_000) == []
