"""Before it serves anything, the engine checks that the command log holds every command its
state needs (``engine.commandlog.check``): the log is the snapshot's and reaches back to it.
When it cannot be sure it refuses, with one line saying what is missing and what recovers it."""

from __future__ import annotations

import pytest

from engine import commandlog
from engine.commandlog import COMMAND_STREAM, LOG_KEY, LogProblem
from exchange_site.redis_client import get_redis
from tests.conftest import take_lease

pytestmark = pytest.mark.services


def test_a_new_exchange_gets_a_new_empty_log(redis_conn):
    info = commandlog.check(get_redis(), take_lease(), None, None, None)

    assert redis_conn.hgetall(LOG_KEY)[b"id"].decode() == info.id
    assert (info.trimmed_to, redis_conn.exists(COMMAND_STREAM), redis_conn.xlen(COMMAND_STREAM)) == (
        "0-0",
        1,
        0,
    )


def test_a_snapshot_of_the_log_not_trimmed_past_it_is_replayed_from(redis_conn):
    held = take_lease()
    log = commandlog.check(get_redis(), held, None, None, None)
    redis_conn.hset(LOG_KEY, "trimmed_to", "5-0")

    assert commandlog.check(get_redis(), held, "5-0", log.id, None) == commandlog.LogInfo(log.id, "5-0")


def test_a_snapshot_older_than_the_trim_is_refused_naming_the_rebuild(redis_conn):
    held = take_lease()
    log = commandlog.check(get_redis(), held, None, None, None)
    redis_conn.hset(LOG_KEY, "trimmed_to", "9-0")

    with pytest.raises(LogProblem) as refused:
        commandlog.check(get_redis(), held, "5-0", log.id, None)

    assert str(refused.value) == (
        "the command log was trimmed up to 9-0, past the newest snapshot that verifies (5-0): the commands"
        " between are gone; rebuild the state from the database with `python manage.py rebuild_engine_state`"
    )


def test_no_snapshot_and_a_trimmed_log_is_refused_naming_the_rebuild(redis_conn):
    held = take_lease()
    commandlog.check(get_redis(), held, None, None, None)
    redis_conn.hset(LOG_KEY, "trimmed_to", "9-0")

    refusal = r"^no snapshot verifies and the command log was trimmed up to 9-0: .*rebuild_engine_state`$"
    with pytest.raises(LogProblem, match=refusal):
        commandlog.check(get_redis(), held, None, None, "history up to seq 40 (stream id 9-0)")


def test_a_snapshot_whose_log_redis_lost_is_refused_naming_both_recoveries(redis_conn):
    with pytest.raises(LogProblem) as refused:
        commandlog.check(get_redis(), take_lease(), "5-0", "a-log-id", None)

    assert str(refused.value).startswith("the command log is gone from Redis")
    assert "restore Redis's append-only file" in str(refused.value)
    assert str(refused.value).endswith("`python manage.py rebuild_engine_state --new-log`")
    assert not redis_conn.exists(COMMAND_STREAM)  # no new log made in its place


def test_a_snapshot_of_another_log_is_refused(redis_conn):
    held = take_lease()
    log = commandlog.check(get_redis(), held, None, None, None)

    with pytest.raises(
        LogProblem, match="was taken from command log other-log, but Redis holds log " + log.id
    ):
        commandlog.check(get_redis(), held, "5-0", "other-log", None)


def test_no_snapshot_and_no_log_while_the_database_has_history_is_refused(redis_conn):
    with pytest.raises(LogProblem, match=r"but the database holds history up to seq 40 .*--new-log`$"):
        commandlog.check(get_redis(), take_lease(), None, None, "history up to seq 40 (stream id 9-0)")

    assert not redis_conn.exists(LOG_KEY)


def test_a_log_of_a_release_before_logs_were_named_is_adopted_with_its_snapshot(redis_conn):
    redis_conn.xadd(COMMAND_STREAM, {"cmd": "{}"}, id="7-0")

    info = commandlog.check(get_redis(), take_lease(), "5-0", None, None)

    assert (info.trimmed_to, redis_conn.xlen(COMMAND_STREAM)) == ("5-0", 1)
