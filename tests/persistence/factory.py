"""Engine events for persistence tests, built from the engine's own message classes and codec so
that their shape is exactly what the engine process sends."""

from __future__ import annotations

import itertools

from engine.core import messages as M
from engine.core.codec import event_to_dict

SYMBOL = "SOL_USDC"
BASE_PER_LOT = 10_000_000  # step 0.01 SOL, 9 decimals


class Events:
    """Event dicts with increasing ``seq`` (starting at ``first_seq``)."""

    def __init__(self, first_seq: int = 1):
        self._seq = itertools.count(first_seq)

    def seq(self) -> int:
        return next(self._seq)

    def trade(
        self,
        trade_id: int,
        ts: int,
        price: int,
        quantity: int,
        *,
        market: str = SYMBOL,
        buyer: int = 1,
        seller: int = 2,
        buyer_fee: int = 0,
        seller_fee: int = 0,
        quote_per_tick_lot: int = 100,  # tick 0.01 x step 0.01 x 10**6 USDC units
        is_buyer_maker: bool = False,
        seq: int | None = None,
    ) -> dict:
        return event_to_dict(
            M.Trade(
                seq=self.seq() if seq is None else seq,
                ts=ts,
                market=market,
                trade_id=trade_id,
                price=price,
                quantity=quantity,
                quote_quantity=price * quantity * quote_per_tick_lot,
                buyer_order_id=1000 + trade_id,
                seller_order_id=2000 + trade_id,
                buyer_account=buyer,
                seller_account=seller,
                is_buyer_maker=is_buyer_maker,
                buyer_fee=buyer_fee,
                seller_fee=seller_fee,
                fee_asset="USDC",
            )
        )

    def order(self, kind: str, order_id: int, account: int, *, ts: int = 1_000, **fields) -> dict:
        """An order event of class ``kind`` (``OrderAccepted``, ``OrderFilled``, ...)."""
        base = {
            "seq": self.seq(),
            "ts": ts,
            "order_id": order_id,
            "account": account,
            "market": SYMBOL,
            "side": M.BID,
            "order_type": M.LIMIT,
            "time_in_force": M.GTC,
            "post_only": False,
            "self_trade_prevention": M.REJECT_TAKER,
            "client_id": None,
            "price": 14_000,
            "quantity": 100,
            "quote_quantity": None,
            "executed_quantity": 0,
            "executed_quote_quantity": 0,
            "status": M.NEW,
            "created_ts": 1_000,
            "fee_bps": 5,
            "trigger_price": None,
            "priority": order_id,
        }
        if kind == "OrderFilled":
            base.update(
                trade_id=1,
                fill_price=14_000,
                fill_quantity=100,
                fill_quote_quantity=140_000_000,
                fee=0,
                fee_asset="USDC",
                is_maker=False,
            )
        elif kind in ("OrderCancelled", "OrderExpired"):
            base["reason"] = M.REASON_USER if kind == "OrderCancelled" else M.REASON_UNFILLED
        elif kind == "OrderTriggerFailed":
            base["reason"] = "INSUFFICIENT_FUNDS"
        base.update(fields)
        return event_to_dict(getattr(M, kind)(**base))

    def deposit(self, account: int, asset: str, amount: int, tx_id: str, ts: int = 1_000) -> dict:
        return event_to_dict(
            M.Deposited(seq=self.seq(), ts=ts, account=account, asset=asset, amount=amount, tx_id=tx_id)
        )

    def withdrawal(self, account: int, asset: str, amount: int, tx_id: str, ts: int = 1_000) -> dict:
        return event_to_dict(
            M.Withdrawn(seq=self.seq(), ts=ts, account=account, asset=asset, amount=amount, tx_id=tx_id)
        )

    def depth(self, ts: int = 1_000) -> dict:
        return event_to_dict(
            M.DepthChanged(seq=self.seq(), ts=ts, market=SYMBOL, side=M.BID, price=1, quantity=1, update_id=1)
        )

    def balance(self, account: int = 1, ts: int = 1_000) -> dict:
        return event_to_dict(
            M.BalanceChanged(seq=self.seq(), ts=ts, account=account, asset="USDC", available=1, locked=0)
        )
