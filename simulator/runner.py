"""The simulator's main loop: two makers quote a ladder on every market, one taker takes
liquidity now and then, all through the signed REST API.

Accounts: ``sim-maker-1``, ``sim-maker-2`` and ``sim-taker`` (never ``alice``, ``bob`` or
``admin``), created on first run with no usable password; each run creates a fresh API key per
bot and revokes the keys of earlier runs. Funds come through the engine
(``accounts.services.deposit``, as ``manage.py deposit``), at start and whenever a bot runs low.

The loop never gives up: while the web server is unreachable, the engine down or starting
(503 ``MAINTENANCE``) or the markets not yet created, it waits and tries again, so it can be
started together with everything else (``make run``). On SIGINT/SIGTERM it cancels the makers'
orders (best effort) and returns.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from contract.wire import plain

from . import quoting
from .client import ApiError, Client, RequestBudget, Stopped
from .quoting import LadderShape, MarketSpec, OpenOrder, Quote, RandomWalk

log = logging.getLogger("simulator")

BOT_PREFIX = "sim-"
MAKERS = {
    # username -> how it quotes: the second maker sits two levels wider with larger sizes.
    "sim-maker-1": LadderShape(levels=12, spread_bps=6.0, gap_bps=4.0, notional=500.0),
    "sim-maker-2": LadderShape(levels=12, spread_bps=6.0, gap_bps=4.0, notional=900.0, first_level=2),
}
TAKER = "sim-taker"
RESERVED = frozenset({"alice", "bob", "admin"})
KEY_LABEL = "simulator"

QUOTE_TARGET = Decimal("2000000")  # quote asset per bot
BASE_TARGET_VALUE = Decimal("1000000")  # base asset per bot, in quote at the starting mid
TOP_UP_BELOW = Decimal("0.4")  # of the target, counting what is locked in orders
FUNDS_CHECK_S = 30.0
MARKETS_REFRESH_S = 30.0
STATS_EVERY_S = 60.0
MAX_BATCH = 20


@dataclass
class Bot:
    username: str
    user: object
    client: Client
    shape: LadderShape | None = None  # None: the taker

    @property
    def is_maker(self) -> bool:
        return self.shape is not None


@dataclass
class MarketState:
    spec: MarketSpec
    walk: RandomWalk
    next_requote: float = 0.0
    next_take: float = 0.0
    history: list[float] = field(default_factory=list)  # recent mids, for the taker's drift
    last_trade_id: int = 0


class Simulator:
    def __init__(
        self,
        base_url: str,
        symbols: list[str] | None = None,
        stop: threading.Event | None = None,
        requote_every: float = 2.0,
        trade_every: float = 4.0,
        volatility: float = 0.0003,
        seed: int | None = None,
        requests_per_second: float = 8.0,
    ):
        self.base_url = base_url.rstrip("/")
        self.symbols = symbols or None
        self.stop = stop or threading.Event()
        self.requote_every = requote_every
        self.trade_every = trade_every
        self.volatility = volatility
        self.rng = random.Random(seed)
        self.rps = requests_per_second
        self.public = Client(self.base_url, None, RequestBudget(rate=8, burst=16), self.stop)
        self.bots: list[Bot] = []
        self.markets: dict[str, MarketState] = {}
        self.check_funds = False  # a refusal for funds: look at the balances before the next round
        self._said: dict[str, float] = {}
        self.placed = 0
        self.taken = 0

    # --- set-up --------------------------------------------------------------------------

    def setup_bots(self) -> None:
        """The bots' users and a fresh API key each (database only; no engine needed)."""
        from django.contrib.auth import get_user_model
        from django.db import transaction

        from accounts.models import ApiKey
        from accounts.services import create_api_key

        User = get_user_model()
        names = [*MAKERS, TAKER]
        assert not RESERVED & set(names) and all(n.startswith(BOT_PREFIX) for n in names)
        bots = []
        with transaction.atomic():
            for name in names:
                user, created = User.objects.get_or_create(
                    username=name, defaults={"email": f"{name}@simulator.invalid"}
                )
                if created:
                    user.set_unusable_password()
                    user.save(update_fields=["password"])
                # One run's keys at a time: the keys of earlier runs stop working.
                ApiKey.objects.filter(user=user, label=KEY_LABEL, revoked=False).update(revoked=True)
                _, secret = create_api_key(user, KEY_LABEL)
                budget = RequestBudget(rate=self.rps, burst=self.rps * 2)
                client = Client(self.base_url, secret, budget, self.stop, name=name)
                bots.append(Bot(name, user, client, MAKERS.get(name)))
        self.bots = bots

    def refresh_markets(self) -> None:
        """The markets to quote (``/api/v1/markets``); a new one starts its walk where it trades."""
        listed = {m["symbol"]: MarketSpec.from_wire(m) for m in self.public.request("GET", "/api/v1/markets")}
        wanted = self.symbols or sorted(listed)
        missing = [s for s in wanted if s not in listed]
        if missing:
            self.say("missing", f"waiting for market(s) {', '.join(missing)} (not listed by /api/v1/markets)")
        for symbol in wanted:
            spec = listed.get(symbol)
            if spec is None:
                continue
            state = self.markets.get(symbol)
            if state is not None:
                state.spec = spec
                continue
            walk = RandomWalk(
                self.initial_mid(spec),
                self.rng,
                self.volatility,
                lowest=float(spec.min_price),
                highest=float(spec.max_price),
            )
            self.markets[symbol] = MarketState(spec, walk)
            for bot in self.bots:
                if bot.is_maker:  # orders left by an earlier run: quoted afresh
                    self.cancel_all(bot, symbol)
            log.info("%s starts at %s", symbol, spec.price_text(round(walk.mid)))

    def initial_mid(self, spec: MarketSpec) -> float:
        depth = self.public.request("GET", "/api/v1/depth", {"symbol": spec.symbol, "limit": "5"})
        book_mid = None
        if depth["bids"] and depth["asks"]:
            book_mid = (Decimal(depth["bids"][-1][0]) + Decimal(depth["asks"][0][0])) / 2
        ticker = self.public.request("GET", "/api/v1/ticker", {"symbol": spec.symbol})
        last = Decimal(ticker["lastPrice"]) if ticker.get("trades") not in (None, "0") else None
        return quoting.starting_mid(spec, book_mid, last)

    # --- funds ---------------------------------------------------------------------------

    def ensure_funds(self, bot: Bot) -> None:
        """Top up every asset of the quoted markets that ran low, through the engine."""
        balances = bot.client.request("GET", "/api/v1/capital")
        targets: dict[str, Decimal] = {}
        for state in self.markets.values():
            spec = state.spec
            targets[spec.quote] = QUOTE_TARGET
            mid_price = spec.tick * round(state.walk.mid)
            if mid_price > 0:
                base_target = (BASE_TARGET_VALUE / mid_price).quantize(Decimal(1))
                targets[spec.base] = max(targets.get(spec.base, Decimal(0)), base_target)
        for asset, target in targets.items():
            b = balances.get(asset, {})
            held = Decimal(b.get("available", "0")) + Decimal(b.get("locked", "0"))
            if held < target * TOP_UP_BELOW:
                self.deposit(bot, asset, target - held)

    def deposit(self, bot: Bot, asset: str, amount: Decimal) -> None:
        from django.db import close_old_connections

        from accounts.services import DuplicateTransfer, deposit
        from exchange_site.api_errors import ApiError as ServerError

        amount = amount.quantize(Decimal(1))
        tx_id = f"simulator:{bot.username}:{asset}:{uuid.uuid4().hex}"  # the same on every retry
        while True:
            close_old_connections()
            try:
                deposit(bot.user, asset, amount, tx_id=tx_id)
            except DuplicateTransfer:
                pass  # an earlier try whose answer was lost went through
            except ServerError as exc:  # 503 MAINTENANCE (engine down or starting), 504 unknown
                self.say("deposit", f"{bot.username}: deposit of {asset} waits for the engine ({exc.code})")
                if self.stop.wait(1.0):
                    raise Stopped() from None
                continue
            log.info("deposited %s %s to %s through the engine", plain(amount), asset, bot.username)
            return

    # --- trading -------------------------------------------------------------------------

    def open_orders(self, bot: Bot, spec: MarketSpec) -> list[OpenOrder]:
        rows = bot.client.request("GET", "/api/v1/orders", {"symbol": spec.symbol})
        return [
            OpenOrder(
                o["id"],
                o["side"],
                spec.ticks(o["price"]),
                spec.lots(o["quantity"]) - spec.lots(o["executedQuantity"]),
            )
            for o in rows
            if o.get("price") is not None
        ]

    def requote(self, bot: Bot, state: MarketState) -> None:
        spec = state.spec
        wanted = quoting.ladder(spec, state.walk.mid, bot.shape, self.rng)
        cancel, place = quoting.plan(self.open_orders(bot, spec), wanted)
        if len(cancel) > 6:
            self.cancel_all(bot, spec.symbol)
            place = wanted
        else:
            for order_id in cancel:
                try:
                    bot.client.request(
                        "DELETE", "/api/v1/order", {"symbol": spec.symbol, "orderId": order_id}
                    )
                except ApiError as exc:
                    if exc.code != "RESOURCE_NOT_FOUND":  # filled meanwhile: nothing to do
                        raise
        # Nearest the mid first: if funds run short, the deep levels are the ones missing.
        place.sort(key=lambda q: abs(q.price - state.walk.mid))
        for i in range(0, len(place), MAX_BATCH):
            self.place_batch(bot, spec, place[i : i + MAX_BATCH])

    def place_batch(self, bot: Bot, spec: MarketSpec, quotes: list[Quote]) -> None:
        body = [
            {
                "symbol": spec.symbol,
                "side": q.side,
                "orderType": "Limit",
                "price": spec.price_text(q.price),
                "quantity": spec.qty_text(q.lots),
                "timeInForce": "GTC",
            }
            for q in quotes
        ]
        answers = bot.client.request("POST", "/api/v1/orders", body)
        refused = [a for a in answers if a.get("operation") == "Err"]
        self.placed += len(answers) - len(refused)
        if any(a.get("code") == "INSUFFICIENT_FUNDS" for a in refused):
            self.check_funds = True

    def cancel_all(self, bot: Bot, symbol: str) -> None:
        try:
            bot.client.request("DELETE", "/api/v1/orders", {"symbol": symbol})
        except ApiError as exc:
            self.say(f"cancel-{bot.username}", f"{bot.username}: cancel-all on {symbol} refused: {exc}")

    def follow_trades(self, state: MarketState) -> None:
        """Other traders move the price too: the mid moves part way towards the newest trade."""
        spec = state.spec
        rows = self.public.request("GET", "/api/v1/trades", {"symbol": spec.symbol, "limit": "1"})
        if rows and rows[-1]["id"] != state.last_trade_id:
            if state.last_trade_id:
                state.walk.nudge(float(spec.ticks(rows[-1]["price"])), weight=0.2)
            state.last_trade_id = rows[-1]["id"]

    def take(self, bot: Bot, state: MarketState) -> None:
        spec = state.spec
        drift = 0.0
        if len(state.history) >= 2 and state.history[0] > 0:
            drift = (state.history[-1] - state.history[0]) / state.history[0]
        order = quoting.next_take(spec, state.walk.mid, drift, self.rng)
        body = {
            "symbol": spec.symbol,
            "side": order.side,
            "orderType": "Market",
            "quantity": spec.qty_text(order.lots),
        }
        try:
            bot.client.request("POST", "/api/v1/order", body)
            self.taken += 1
        except ApiError as exc:
            if exc.code == "INSUFFICIENT_FUNDS":
                self.check_funds = True
            elif exc.code != "INVALID_ORDER":  # "no liquidity" while the makers start: fine
                raise

    # --- the loop ------------------------------------------------------------------------

    def say(self, key: str, message: str, every_s: float = 30.0) -> None:
        """Log ``message`` at most once per ``every_s`` for the same ``key``."""
        now = time.monotonic()
        if now - self._said.get(key, -1e9) >= every_s:
            self._said[key] = now
            log.info("%s", message)

    def run(self) -> None:
        try:
            self.setup_bots()
            log.info(
                "bots %s trading through %s",
                ", ".join(b.username for b in self.bots),
                self.base_url,
            )
            self.loop()
        except Stopped:
            pass
        finally:
            self.shutdown()

    def loop(self) -> None:
        next_markets = next_funds = 0.0
        next_stats = time.monotonic() + STATS_EVERY_S
        last_step = time.monotonic()
        while not self.stop.is_set():
            now = time.monotonic()
            try:
                if now >= next_markets:
                    self.refresh_markets()
                    next_markets = now + MARKETS_REFRESH_S
                if not self.markets:
                    self.stop.wait(1.0)
                    continue
                if now >= next_funds or self.check_funds:
                    self.check_funds = False
                    for bot in self.bots:
                        self.ensure_funds(bot)
                    next_funds = now + FUNDS_CHECK_S
                dt, last_step = now - last_step, now
                for state in self.markets.values():
                    state.walk.step(min(dt, 5.0))
                    self.tick(state, now)
                if now >= next_stats:
                    next_stats = now + STATS_EVERY_S
                    self.log_stats()
            except Stopped:
                return
            except ApiError as exc:
                self.say(f"api-{exc.code}", f"the API refused a request: {exc}")
                self.stop.wait(1.0)
            except Exception:
                log.exception("unexpected error; carrying on")
                self.stop.wait(2.0)
            self.stop.wait(0.05)

    def tick(self, state: MarketState, now: float) -> None:
        if state.spec.state not in ("Open", "PostOnly"):
            return
        if now >= state.next_requote:
            self.follow_trades(state)
            state.history = [*state.history[-9:], state.walk.mid]
            for bot in self.bots:
                if bot.is_maker:
                    self.requote(bot, state)
            state.next_requote = time.monotonic() + self.requote_every * self.rng.uniform(0.7, 1.3)
        if state.spec.state == "Open" and now >= state.next_take:
            if state.next_take:  # not at the very start: the book fills first
                for bot in self.bots:
                    if not bot.is_maker:
                        self.take(bot, state)
            state.next_take = time.monotonic() + quoting.next_delay(self.rng, self.trade_every)

    def log_stats(self) -> None:
        requests = sum(b.client.stats.requests for b in self.bots)
        limited = sum(b.client.stats.rate_limited for b in self.bots)
        mids = ", ".join(f"{s} {st.spec.price_text(round(st.walk.mid))}" for s, st in self.markets.items())
        log.info(
            "%d orders placed, %d taker orders, %d requests (%d rate-limited) so far; mids %s",
            self.placed,
            self.taken,
            requests,
            limited,
            mids,
        )

    def shutdown(self) -> None:
        """Leave no quotes behind (best effort: the exchange may be stopping too)."""
        if not self.markets:
            return
        for bot in self.bots:
            if not bot.is_maker:
                continue
            client = Client(self.base_url, bot.client.secret, RequestBudget(), threading.Event(), timeout=2.0)
            for symbol in self.markets:
                if not client.send_once("DELETE", "/api/v1/orders", {"symbol": symbol}):
                    break  # the web server is gone already: the quotes stay
            client.close()
        log.info("stopped; the makers' orders were cancelled")
