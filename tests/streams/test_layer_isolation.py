"""The channel layer of an exchange on one Redis db never carries another db's frames, though
pub/sub channels are server-wide."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from channels.layers import get_channel_layer
from django.conf import settings

from tests.conftest import ROOT, subprocess_env

pytestmark = pytest.mark.services

GROUP = "isolation.probe"
SEND = f"""
import asyncio, django
django.setup()
from channels.layers import get_channel_layer
asyncio.run(get_channel_layer().group_send({GROUP!r}, {{"type": "probe", "n": 1}}))
"""


def _redis_url_of_db(db: int) -> str:
    head, _, _ = settings.REDIS_URL.rpartition("/")
    return f"{head}/{db}"


def _send_from_a_process_on(redis_url: str) -> None:
    env = subprocess_env(REDIS_URL=redis_url, DJANGO_SETTINGS_MODULE="exchange_site.settings")
    subprocess.run([sys.executable, "-c", SEND], cwd=ROOT, env=env, check=True, timeout=60)


async def _received_while(send_from: str) -> list[dict]:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(GROUP, channel)
    try:
        await asyncio.sleep(0.2)  # subscribed before the other process publishes
        await asyncio.to_thread(_send_from_a_process_on, send_from)
        try:
            return [await asyncio.wait_for(layer.receive(channel), 2)]
        except TimeoutError:
            return []
    finally:
        await layer.group_discard(GROUP, channel)


@pytest.mark.asyncio
async def test_a_group_send_from_a_process_on_the_same_db_arrives(redis_conn):
    assert await _received_while(settings.REDIS_URL) == [{"type": "probe", "n": 1}]


@pytest.mark.asyncio
async def test_a_group_send_from_a_process_on_another_db_of_the_same_server_does_not(redis_conn):
    other_db = settings.REDIS_DB + 1

    assert await _received_while(_redis_url_of_db(other_db)) == []
