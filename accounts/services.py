"""What a user can do to their account: trade, cancel, deposit, withdraw, manage API keys.

Every balance or order change is a command to the engine (``engine.client.submit``); nothing
here writes balances or orders to the database. The engine answers each command with its
events: a ``Rejected`` event becomes an ``ApiError`` with the engine's code, and the order
events become the wire's order objects. Requests are fully validated first
(``accounts.order_input``), so a bad request never reaches the engine and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from accounts import order_input
from contract.wire import MarketFormat, order_object
from engine import client as engine_client
from engine.core.messages import CancelAll, CancelOrder, Command, Deposit, Withdraw
from exchange_site.api_errors import ApiError
from markets import selectors as market_selectors

from . import error_codes as errors
from . import selectors, signing
from .models import ApiKey

ORDER_EVENTS = frozenset({"OrderAccepted", "OrderFilled", "OrderCancelled", "OrderExpired"})
MAX_BATCH_ORDERS = 20
MAX_LABEL_LENGTH = 64


class DuplicateTransfer(ApiError):
    """The engine already applied a deposit or withdrawal with this tx id; nothing changed."""


def _rejection(events: list[dict]) -> ApiError | None:
    for event in events:
        if event["type"] == "Rejected":
            if event["command"] in ("Deposit", "Withdraw") and event["message"].startswith("duplicate tx_id"):
                return DuplicateTransfer(event["code"], event["message"])
            return errors.engine_rejected(event["code"], event["message"])
    return None


def _submit(command) -> list[dict]:
    events = engine_client.submit(command)
    raise_rejection(events)
    return events


def raise_rejection(events: list[dict]) -> None:
    rejection = _rejection(events)
    if rejection is not None:
        raise rejection


def _unexpected_reply(what: str) -> ApiError:
    return ApiError(errors.SERVER_ERROR, f"The engine's reply carried no {what}", http_status=500)


def _new_order(fmt: MarketFormat, account: int, events: list[dict]) -> dict:
    """The order object of the order a PlaceOrder created: the last event of the newest order id
    (the resting orders it traded with are older, so they have smaller ids)."""
    mine = [e for e in events if e["type"] in ORDER_EVENTS and e["account"] == account]
    if not mine:
        raise _unexpected_reply("order")
    newest = max(e["order_id"] for e in mine)
    last = [e for e in mine if e["order_id"] == newest][-1]
    return order_object(fmt, last)


# --- orders ------------------------------------------------------------------------------------
# Each operation is a validated request (``prepare_*``: every check that needs no engine, done
# before anything is sent) and its commands, plus how the engine's replies become the answer.
# The views run them with the blocking ``engine_client.submit`` (``Submission.run``); the order
# entry path on the event loop (``accounts.api.fast``) awaits the same commands instead.


@dataclass(frozen=True, slots=True)
class Submission:
    commands: list[Command]  # sent one after the other, each once the previous one was answered
    # The answer to the i-th command, from its events, made as soon as they are there (it may
    # raise, refusing the request before the next command is sent).
    answer_one: Callable[[int, list[dict]], object]
    batch: bool = False  # the answer is the list of the commands' answers, else the one's

    def answer(self, answers: list) -> object:
        return answers if self.batch else answers[0]

    def run(self) -> object:
        return self.answer(
            [self.answer_one(i, engine_client.submit(command)) for i, command in enumerate(self.commands)]
        )


def prepare_place_order(user: AbstractBaseUser, payload: object) -> Submission:
    order = order_input.validate_order(payload)

    def answer(_: int, events: list[dict]) -> dict:
        raise_rejection(events)
        return _new_order(order.rules.format, user.pk, events)

    return Submission([order.command(user.pk)], answer)


def place_order(user: AbstractBaseUser, payload: object) -> dict:
    """Validate and place one order; returns its order object as it stands after matching."""
    return prepare_place_order(user, payload).run()


def prepare_place_orders(user: AbstractBaseUser, payloads: object) -> Submission:
    if not isinstance(payloads, list):
        raise errors.bad_request("The request body must be a JSON array of orders")
    if not payloads:
        raise errors.bad_request("The batch is empty")
    if len(payloads) > MAX_BATCH_ORDERS:
        raise errors.bad_request(f"Too many orders in a batch: at most {MAX_BATCH_ORDERS}")
    orders = []
    for index, payload in enumerate(payloads):
        try:
            orders.append(order_input.validate_order(payload))
        except ApiError as exc:
            raise ApiError(exc.code, f"Order {index}: {exc.message}", exc.status_code) from None

    def answer(index: int, events: list[dict]) -> dict:
        rejection = _rejection(events)
        if rejection is not None:
            return {"operation": "Err", "code": rejection.code, "message": rejection.message}
        return {"operation": "Ok", **_new_order(orders[index].rules.format, user.pk, events)}

    return Submission([order.command(user.pk) for order in orders], answer, batch=True)


def place_orders(user: AbstractBaseUser, payloads: object) -> list[dict]:
    """A batch of at most 20 orders, placed in the given order.

    The whole batch is validated before anything is sent, so a malformed order refuses the
    batch and changes nothing. An order the engine refuses (funds, a duplicate client id...)
    takes its place in the answer as ``{"operation": "Err", "code", "message"}`` while the others
    stand, each tagged ``"operation": "Ok"``: Backpack's batch result, which tells a client
    which kind each element is.
    """
    return prepare_place_orders(user, payloads).run()


def _check_fields(payload: object, allowed: frozenset[str], required: tuple[str, ...]) -> dict:
    if not isinstance(payload, dict):
        raise errors.bad_request("The request body must be a JSON object")
    extra = [k for k in payload if k not in allowed]
    if extra:
        raise errors.unknown_fields(extra)
    for name in required:
        if payload.get(name) is None:
            raise errors.missing_field(name)
    return payload


def _symbol_format(symbol: object) -> MarketFormat:
    if not isinstance(symbol, str):
        raise errors.wrong_type("symbol", "a string")
    return market_selectors.market_format(symbol)


def prepare_cancel_order(user: AbstractBaseUser, payload: object) -> Submission:
    body = _check_fields(payload, frozenset({"symbol", "orderId", "clientId"}), ("symbol",))
    fmt = _symbol_format(body["symbol"])
    order_id = order_input.parse_order_id(body["orderId"]) if body.get("orderId") is not None else None
    client_id = order_input.parse_client_id(body["clientId"]) if body.get("clientId") is not None else None
    if order_id is None and client_id is None:
        raise errors.missing_field("orderId or clientId")

    def answer(_: int, events: list[dict]) -> dict:
        raise_rejection(events)
        cancelled = [e for e in events if e["type"] == "OrderCancelled" and e["account"] == user.pk]
        if not cancelled:
            raise _unexpected_reply("cancellation")
        return order_object(fmt, cancelled[-1])

    command = CancelOrder(ts=0, account=user.pk, market=fmt.symbol, order_id=order_id, client_id=client_id)
    return Submission([command], answer)


def cancel_order(user: AbstractBaseUser, payload: object) -> dict:
    """Cancel one of the user's open orders by ``orderId`` or ``clientId``."""
    return prepare_cancel_order(user, payload).run()


def prepare_cancel_all(user: AbstractBaseUser, payload: object) -> Submission:
    body = _check_fields(payload, frozenset({"symbol"}), ("symbol",))
    fmt = _symbol_format(body["symbol"])

    def answer(_: int, events: list[dict]) -> list[dict]:
        raise_rejection(events)
        return [
            order_object(fmt, e) for e in events if e["type"] == "OrderCancelled" and e["account"] == user.pk
        ]

    return Submission([CancelAll(ts=0, account=user.pk, market=fmt.symbol)], answer)


def cancel_all(user: AbstractBaseUser, payload: object) -> list[dict]:
    """Cancel every open order of the user in one market; returns the cancelled orders."""
    return prepare_cancel_all(user, payload).run()


# --- deposits and withdrawals -------------------------------------------------------------------


def _asset_units(asset: str, amount: object) -> tuple[int, int]:
    """(units, decimals) of a positive ``amount`` of ``asset``, exactly on its decimal grid."""
    decimals = selectors.asset_decimals(asset)
    value = order_input.parse_positive_decimal(amount, "quantity", errors.INVALID_QUANTITY)
    units = order_input.on_grid(value, Decimal(1).scaleb(-decimals), "quantity", errors.INVALID_QUANTITY)
    return units, decimals


def new_tx_id(kind: str) -> str:
    return f"{kind}:{uuid.uuid4().hex}"


def deposit(
    user: AbstractBaseUser, asset: str, amount_decimal: Decimal | str, tx_id: str | None = None
) -> dict:
    """Credit ``amount_decimal`` of ``asset`` through the engine; returns the deposit object.

    ``tx_id`` is the idempotency key: the engine applies each one once, a repeat raises
    ``DuplicateTransfer`` and changes nothing.
    """
    return _transfer(Deposit, "Deposited", selectors.deposit_object, user, asset, amount_decimal, tx_id)


def withdraw(
    user: AbstractBaseUser, asset: str, amount_decimal: Decimal | str, tx_id: str | None = None
) -> dict:
    """Debit ``amount_decimal`` of ``asset`` through the engine (``INSUFFICIENT_FUNDS`` if the
    available balance is short); returns the withdrawal object."""
    return _transfer(Withdraw, "Withdrawn", selectors.withdrawal_object, user, asset, amount_decimal, tx_id)


def _transfer(
    command: type[Deposit] | type[Withdraw],
    event_type: str,
    render: Callable[..., dict],
    user: AbstractBaseUser,
    asset: str,
    amount_decimal: Decimal | str,
    tx_id: str | None,
) -> dict:
    """A deposit or a withdrawal through the engine, rendered from the event that applied it."""
    units, decimals = _asset_units(asset, amount_decimal)
    kind = "deposit" if command is Deposit else "withdrawal"
    tx_id = tx_id or new_tx_id(kind)
    events = _submit(command(ts=0, account=user.pk, asset=asset, amount=units, tx_id=tx_id))
    done = next((e for e in events if e["type"] == event_type), None)
    if done is None:
        raise _unexpected_reply(kind)
    return render(seq=done["seq"], ts=done["ts"], asset=asset, amount=units, decimals=decimals, tx_id=tx_id)


# Backpack's withdrawal request fields; there is no chain here, so the address is informational.
WITHDRAW_FIELDS = frozenset({"symbol", "quantity", "address", "blockchain", "clientId"})


def request_withdrawal(user: AbstractBaseUser, payload: object) -> dict:
    body = _check_fields(payload, WITHDRAW_FIELDS, ("symbol", "quantity"))
    for name in ("address", "blockchain"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise errors.wrong_type(name, "a string")
    if body.get("clientId") is not None:
        order_input.parse_client_id(body["clientId"])
    if not isinstance(body["symbol"], str):
        raise errors.wrong_type("symbol", "a string")
    result = withdraw(user, body["symbol"], body["quantity"])
    result["toAddress"] = body.get("address")
    result["blockchain"] = body.get("blockchain")
    result["clientId"] = body.get("clientId")
    return result


def faucet(user: AbstractBaseUser, payload: object) -> dict:
    """The development faucet: a deposit the user asks for (DEBUG only; the view checks)."""
    body = _check_fields(payload, frozenset({"symbol", "quantity"}), ("symbol", "quantity"))
    if not isinstance(body["symbol"], str):
        raise errors.wrong_type("symbol", "a string")
    return deposit(user, body["symbol"], body["quantity"], tx_id=new_tx_id(f"faucet:{user.pk}"))


# --- deactivation --------------------------------------------------------------------------------

# Other web processes trust a cached key for up to this long (accounts.authentication): orders
# placed in that window are cancelled by a second pass after it.
SECOND_PASS_AFTER_S = 5


@dataclass
class Deactivated:
    cancelled: int  # open orders cancelled through the engine
    sessions: int  # browser sessions ended
    engine_error: str | None = None  # why the orders could not be cancelled (left resting)

    def summary(self, user: AbstractBaseUser) -> str:
        if self.engine_error:
            orders = f"their open orders could not be cancelled ({self.engine_error}): deactivate again later"
        else:
            orders = f"{self.cancelled} open order(s) cancelled through the engine"
        ended = f"API keys and {self.sessions} session(s) ended, private streams closed"
        return f"{user} deactivated: {ended}; {orders}"


def deactivate_user(user: AbstractBaseUser) -> Deactivated:
    """Take a user's access away: no more requests with their API keys or sessions (their
    private streams close: ``streams.credentials``), their browser sessions ended, and their
    open orders cancelled through the engine, now and once more when every web process has
    stopped taking their orders. Deactivated even when the engine cannot be reached."""
    from .tasks import cancel_open_orders

    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    sessions = end_sessions(user)
    try:
        cancelled = cancel_all_markets(user.pk)
    except ApiError as exc:
        return Deactivated(0, sessions, exc.message)
    cancel_open_orders.apply_async(args=[user.pk], countdown=SECOND_PASS_AFTER_S)
    return Deactivated(cancelled, sessions)


def cancel_all_markets(account: int) -> int:
    """Cancel every open order of ``account`` in every market; how many."""
    cancelled = 0
    for symbol in (m.symbol for m in market_selectors.list_markets()):
        events = _submit(CancelAll(ts=0, account=account, market=symbol))
        cancelled += sum(1 for e in events if e["type"] == "OrderCancelled" and e["account"] == account)
    return cancelled


def end_sessions(user: AbstractBaseUser) -> int:
    """Delete the user's browser sessions; how many."""
    from django.contrib.sessions.models import Session

    ended = [s.pk for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(user.pk)]
    Session.objects.filter(pk__in=ended).delete()
    return len(ended)


# --- API keys ------------------------------------------------------------------------------------


def create_api_key(user: AbstractBaseUser, label: str = "") -> tuple[ApiKey, str]:
    """A new key for ``user``: returns the stored key and the secret, which is not kept anywhere."""
    label = (label or "").strip()[:MAX_LABEL_LENGTH]
    public_key, secret = signing.generate_keypair()
    key = ApiKey.objects.create(user=user, public_key=public_key, label=label)
    return key, secret


def revoke_api_key(user: AbstractBaseUser, key_id: int) -> ApiKey:
    """Revoke one of ``user``'s keys; it is refused from the next request on."""
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().filter(user=user, pk=key_id).first()
        if key is None:
            raise errors.not_found("API key not found")
        if not key.revoked:
            key.revoked = True
            key.save(update_fields=["revoked"])
    return key
