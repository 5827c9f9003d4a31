"""A trading session of an engine core whose batches the database holds (``Exchange``)."""

from __future__ import annotations

import pytest

from tests.history.session import Exchange


@pytest.fixture
def exchange(demo_markets, django_user_model):
    users = [django_user_model.objects.create(username=f"trader{i}") for i in range(3)]
    made = Exchange([u.pk for u in users])
    yield made
    made.close()
