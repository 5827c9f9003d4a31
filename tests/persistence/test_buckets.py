"""Bucket arithmetic of the kline intervals: the calendar rules, stated and pinned."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract import intervals


def ms(text: str) -> int:
    """``"2025-08-06 22:13:05.250"`` (UTC) -> ms since the epoch."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def start(interval: str, when: str) -> str:
    t = intervals.bucket_start(interval, ms(when))
    return datetime.fromtimestamp(t / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def end(interval: str, when: str) -> str:
    t = intervals.bucket_end(interval, intervals.bucket_start(interval, ms(when)))
    return datetime.fromtimestamp(t / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def test_the_intervals_are_the_contracts_in_its_order():
    assert intervals.INTERVAL_NAMES == (
        "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1month",
    )  # fmt: skip


@pytest.mark.parametrize("name", ["1M", "2m", "1y", "", "1 m", "60"])
def test_an_interval_outside_the_contract_is_refused(name):
    with pytest.raises(ValueError):
        intervals.parse_interval(name)


def test_minute_buckets_are_aligned_to_whole_minutes():
    assert start("1m", "2025-08-06 22:13:59.999") == "2025-08-06 22:13:00"
    assert start("3m", "2025-08-06 22:13:05") == "2025-08-06 22:12:00"
    assert start("15m", "2025-08-06 22:13:05") == "2025-08-06 22:00:00"


def test_hour_buckets_of_the_day_start_at_midnight_utc():
    assert start("4h", "2025-08-06 03:59:59") == "2025-08-06 00:00:00"
    assert start("8h", "2025-08-06 23:00:00") == "2025-08-06 16:00:00"
    assert start("12h", "2025-08-06 12:00:00") == "2025-08-06 12:00:00"


def test_a_day_starts_at_midnight_utc():
    assert start("1d", "2025-08-06 23:59:59.999") == "2025-08-06 00:00:00"
    assert start("1d", "2025-08-07 00:00:00") == "2025-08-07 00:00:00"
    assert end("1d", "2025-08-06 12:00:00") == "2025-08-07 00:00:00"


def test_three_day_buckets_are_aligned_to_the_epoch():
    # Day 20088 since 1970-01-01 (2024-12-31) is a multiple of 3: a bucket starts there.
    assert start("3d", "1970-01-03 23:59:59") == "1970-01-01 00:00:00"
    assert start("3d", "1970-01-04 00:00:00") == "1970-01-04 00:00:00"
    assert start("3d", "2025-01-01 10:00:00") == "2024-12-31 00:00:00"
    assert end("3d", "2025-01-01 10:00:00") == "2025-01-03 00:00:00"


def test_a_week_starts_on_monday_at_midnight_utc():
    # 2025-08-04 is a Monday; 2025-08-10 a Sunday.
    assert start("1w", "2025-08-10 23:59:59.999") == "2025-08-04 00:00:00"
    assert start("1w", "2025-08-11 00:00:00") == "2025-08-11 00:00:00"
    assert end("1w", "2025-08-06 12:00:00") == "2025-08-11 00:00:00"
    # Around the epoch (a Thursday): the first Monday bucket began 1969-12-29.
    assert start("1w", "1970-01-01 00:00:00") == "1969-12-29 00:00:00"


def test_a_month_starts_on_the_first_at_midnight_utc():
    assert start("1month", "2024-02-29 23:59:59.999") == "2024-02-01 00:00:00"
    assert end("1month", "2024-02-15 00:00:00") == "2024-03-01 00:00:00"
    assert start("1month", "2025-03-01 00:00:00") == "2025-03-01 00:00:00"


def test_december_ends_on_the_first_of_january_of_the_next_year():
    assert start("1month", "2025-12-31 23:59:59") == "2025-12-01 00:00:00"
    assert end("1month", "2025-12-31 23:59:59") == "2026-01-01 00:00:00"


@given(
    st.integers(min_value=0, max_value=ms("2100-01-01 00:00:00")), st.sampled_from(intervals.INTERVAL_NAMES)
)
def test_every_timestamp_lies_in_its_bucket_and_buckets_start_on_a_whole_minute(ts, name):
    iv = intervals.parse_interval(name)
    s = iv.start(ts)
    assert s <= ts < iv.end(s)
    assert s % 60_000 == 0
    assert iv.start(s) == s
    assert iv.start(iv.end(s)) == iv.end(s)
