"""Commands and events <-> JSON-safe dicts."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.core import (
    BID,
    LIMIT,
    AddMarket,
    CancelOrder,
    Deposit,
    PlaceOrder,
    codec,
    command_from_dict,
    command_to_dict,
    event_from_dict,
    event_to_dict,
)

from .helpers import BUYER, SELLER, Harness, market_args


def test_command_round_trips_through_json():
    cmds = [
        PlaceOrder(
            ts=5,
            account=1,
            market="SOL_USD",
            side="Bid",
            order_type="Limit",
            price=10,
            quantity=2,
            client_id=3,
        ),
        PlaceOrder(ts=5, account=1, market="SOL_USD", side="Bid", order_type="Market", quote_quantity=100),
        CancelOrder(ts=6, account=1, market="SOL_USD", client_id=3),
        Deposit(ts=7, account=1, asset="USD", amount=10**30, tx_id="x"),
        AddMarket(
            ts=1,
            **market_args(symbol="A_B", base="A", quote="B", tick_size="0.01", max_price=2, max_quantity=2),
        ),
    ]
    for c in cmds:
        d = command_to_dict(c)
        assert d["type"] == type(c).__name__
        assert command_from_dict(json.loads(json.dumps(d))) == c


def test_command_defaults_may_be_omitted():
    c = command_from_dict(
        {
            "type": "PlaceOrder",
            "ts": 1,
            "account": 1,
            "market": "M",
            "side": "Ask",
            "order_type": "Limit",
            "quantity": 1,
        }
    )
    assert (c.time_in_force, c.post_only, c.self_trade_prevention, c.price) == (
        "GTC",
        False,
        "RejectTaker",
        None,
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "Launch", "ts": 1},
        {"ts": 1},
        {"type": "CancelAll", "ts": 1, "account": 1, "market": "M", "extra": 1},
        {"type": "CancelAll", "ts": 1, "account": 1},
        {"type": "CancelAll", "ts": 1, "account": "1", "market": "M"},
        {"type": "CancelAll", "ts": 1, "account": True, "market": "M"},
        {"type": "CancelAll", "ts": 1.0, "account": 1, "market": "M"},
        {"type": "CancelAll", "ts": None, "account": 1, "market": "M"},
        {
            "type": "PlaceOrder",
            "ts": 1,
            "account": 1,
            "market": "M",
            "side": "Bid",
            "order_type": "Limit",
            "post_only": 0,
        },
        "PlaceOrder",
    ],
)
def test_malformed_command_dict_raises_value_error(bad):
    with pytest.raises(ValueError):
        command_from_dict(bad)


def test_events_round_trip_through_json():
    h = Harness()
    h.sell(SELLER, 100, 2)
    events = h.buy(BUYER, 101, 3) + h.buy(BUYER, 0, 1)
    for ev in events:
        d = event_to_dict(ev)
        assert d["type"] == type(ev).__name__
        assert event_from_dict(json.loads(json.dumps(d))) == ev


def test_unknown_objects_are_refused():
    with pytest.raises(ValueError):
        command_to_dict(object())
    with pytest.raises(ValueError):
        event_to_dict(PlaceOrder(ts=1, account=1, market="M", side="Bid", order_type="Limit"))


def test_decoded_vocabulary_strings_are_interned():
    raw = json.dumps(
        {"type": "PlaceOrder", "ts": 1, "account": 1, "market": "M", "side": "Bid", "order_type": "Limit"}
    )
    c = command_from_dict(json.loads(raw))
    assert c.side is BID  # identity is the point: the engine compares these with `is`
    assert c.order_type is LIMIT


_WELL_FORMED = [
    PlaceOrder(ts=1, account=2, market="M", side="Bid", order_type="Limit", quantity=3, price=4, client_id=5),
    PlaceOrder(ts=1, account=2, market="M", side="Bid", order_type="Market", quote_quantity=9),
    CancelOrder(ts=1, account=2, market="M", order_id=7),
    Deposit(ts=1, account=2, asset="USD", amount=10, tx_id="t"),
    AddMarket(ts=1, symbol="M", base="B", quote="Q", tick_size="0.01", step_size="0.1", min_price=1,
              max_price=9, min_quantity=1, max_quantity=9, min_notional=0, maker_fee_bps=1, taker_fee_bps=2),
]  # fmt: skip
_FIELD_NAMES = sorted({name for spec in codec._COMMAND_SPECS.values() for name in spec.names} | {"extra"})
_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-2, 2**40), st.floats(allow_nan=False),
    st.sampled_from(["M", "Bid", "Limit", "GTC", ""]), st.lists(st.integers(), max_size=1),
)  # fmt: skip


@given(
    command=st.sampled_from(_WELL_FORMED),
    dropped=st.sets(st.sampled_from(_FIELD_NAMES + ["type"]), max_size=2),
    changed=st.dictionaries(st.sampled_from(_FIELD_NAMES + ["type"]), _VALUES, max_size=2),
)
@settings(max_examples=500, deadline=None)
def test_decoding_accepts_and_refuses_exactly_what_the_generic_field_check_does(command, dropped, changed):
    """``command_from_dict`` decodes well-formed dicts with code written out per command type;
    the generic field-by-field check is the specification it must match, on well-formed dicts
    and on every kind of damage to them (a field dropped, retyped, nulled or added)."""
    d = {k: v for k, v in command_to_dict(command).items() if k not in dropped} | changed
    try:
        expected = codec._from_dict(d, codec.COMMAND_TYPES, codec._COMMAND_SPECS, "command")
    except ValueError:
        with pytest.raises(ValueError):
            command_from_dict(d)
        return
    decoded = command_from_dict(d)
    assert decoded == expected and type(decoded) is type(expected)


def test_every_command_type_has_a_written_out_decoder():
    assert sorted(codec._COMMAND_DECODERS) == sorted(codec.COMMAND_TYPES)
