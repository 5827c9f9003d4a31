"""This database's persistence outbox (``contract.persist_outbox``): named after the database,
so that engines and workers of different databases sharing one Redis never take each other's
batches."""

from __future__ import annotations

from django.db import connection

from contract.persist_outbox import Outbox


def outbox() -> Outbox:
    """The outbox of the database this process writes (the test database under the tests)."""
    return Outbox.of_database(str(connection.settings_dict["NAME"]))
