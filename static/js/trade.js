/* The trading page (templates/markets/trade.html).
 *
 * Public market data: REST snapshots (/api/v1/depth, /trades, /klines, /tickers) kept live by the
 * websocket at "/" (depth.<sym>, trade.<sym>, kline.<iv>.<sym>, ticker.<sym> of every market).
 * Private data (logged in): the session's private streams account.orderUpdate and
 * account.balanceUpdate (the server takes the session cookie instead of a signature), with the
 * REST API read once when the page loads and once after every reconnection, never on a timer.
 * After the socket drops and comes back, every snapshot is fetched again and the page says so.
 *
 * Candles: TradingView's lightweight-charts (npm, served as a static file), on a real time axis
 * (a bucket without trades is an empty slot), older candles fetched as the chart is scrolled
 * back. The depth chart is this file's own canvas.
 *
 * Money is a decimal string from the server to the server: what the user typed is sent as typed,
 * and exact arithmetic (totals, fee reserves, percentages of a balance, book grouping, the mid)
 * uses BigInt-scaled integers. JS numbers are used only to draw (chart coordinates, bar widths,
 * a percentage shown to two decimals).
 */
(function () {
  "use strict";

  const page = document.getElementById("trade-page");
  if (!page) return;

  const MARKET = JSON.parse(document.getElementById("market-data").textContent);
  const MARKETS = JSON.parse(document.getElementById("markets-data").textContent);
  const SYMBOL = MARKET.symbol;
  const BASE = MARKET.baseSymbol;
  const QUOTE = MARKET.quoteSymbol;
  const TICK = MARKET.filters.price.tickSize;
  const STEP = MARKET.filters.quantity.stepSize;
  const MIN_QTY = MARKET.filters.quantity.minQuantity;
  const LOGGED_IN = page.dataset.loggedIn === "true";
  const MAKER_BPS = BigInt(Number(page.dataset.makerFeeBps || 0));
  const TAKER_BPS = BigInt(Number(page.dataset.takerFeeBps || 0));
  const MAX_FEE_BPS = MAKER_BPS > TAKER_BPS ? MAKER_BPS : TAKER_BPS; // what a limit buy holds back
  const QUOTE_DECIMALS = Number(page.dataset.quoteDecimals || 0);
  const BASE_DECIMALS = Number(page.dataset.baseDecimals || 0);
  const CSRF = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  const BOOK_ROWS = 12; // price levels shown per side
  const TRADES_SHOWN = 60;
  const FILLS_KEPT = 100;
  const HISTORY_PAGE = 25;
  const MAX_STREAMS = 50; // per connection (README "Market data streams")
  const STABLE_AFTER_MS = 5000; // a connection open this long resets the reconnect backoff
  const SUBSCRIBE_SETTLE_MS = 250; // private REST after the private subscription took effect
  // Fills come from the history API, which the database serves a moment behind the engine
  // (README: ~100-500 ms): read a little later than balances and orders, so that a fill made
  // just before the page subscribed is there; fills after it arrive by stream.
  const FILLS_DELAY_MS = 1000;
  const NOTICE_MS = 20000;

  // --- decimal strings ------------------------------------------------------------------------

  const DEC_RE = /^\s*(-)?(\d*)(?:\.(\d*))?\s*$/;

  /** "140.25" -> {n: 14025n, s: 2}; null for anything that is not a plain decimal. */
  function dec(text) {
    const m = DEC_RE.exec(String(text));
    if (!m || (m[2] === "" && !m[3])) return null;
    const frac = m[3] || "";
    const n = BigInt((m[2] || "0") + frac);
    return { n: m[1] ? -n : n, s: frac.length };
  }

  /** d at scale s (exact when s >= d.s; truncated towards zero otherwise). */
  function scaled(d, s) {
    return s >= d.s ? d.n * 10n ** BigInt(s - d.s) : d.n / 10n ** BigInt(d.s - s);
  }

  /** Plain text of n / 10^s without trailing zeros, as the API writes decimals. */
  function decText(n, s) {
    const neg = n < 0n;
    const digits = (neg ? -n : n).toString().padStart(s + 1, "0");
    let out = s ? digits.slice(0, digits.length - s) + "." + digits.slice(digits.length - s) : digits;
    if (s) out = out.replace(/0+$/, "").replace(/\.$/, "");
    return neg && out !== "0" ? "-" + out : out;
  }

  function decOp(a, b, op) {
    const x = dec(a);
    const y = dec(b);
    if (!x || !y) return null;
    const s = Math.max(x.s, y.s);
    return op(scaled(x, s), scaled(y, s), s);
  }

  const decAdd = (a, b) => decOp(a, b, (p, q, s) => decText(p + q, s));
  const decSub = (a, b) => decOp(a, b, (p, q, s) => decText(p - q, s));
  const decCmp = (a, b) => decOp(a, b, (p, q) => (p < q ? -1 : p > q ? 1 : 0));
  const isMultiple = (a, step) => decOp(a, step, (p, q) => q !== 0n && p % q === 0n);

  function decMul(a, b) {
    const x = dec(a);
    const y = dec(b);
    return x && y ? decText(x.n * y.n, x.s + y.s) : null;
  }

  function canon(text) {
    const d = dec(text);
    return d ? decText(d.n, d.s) : String(text);
  }

  function isZero(text) {
    const d = dec(text);
    return !d || d.n === 0n;
  }

  /** Decimal places of a tick or step size ("0.01" -> 2, "1" -> 0). */
  function placesOf(step) {
    const t = canon(step);
    const i = t.indexOf(".");
    return i < 0 ? 0 : t.length - i - 1;
  }

  const PRICE_PLACES = placesOf(TICK);
  const QTY_PLACES = placesOf(STEP);
  const TICK_UNITS = scaled(dec(TICK), PRICE_PLACES); // the tick at the price scale (1n for 0.01)

  /** For display: at least `places` decimals (padding only, never rounding), thousands grouped. */
  function fmt(text, places) {
    if (text === null || text === undefined || text === "") return "–";
    let [int, frac = ""] = canon(text).split(".");
    if (places !== undefined && frac.length < places) frac = frac.padEnd(places, "0");
    const neg = int.startsWith("-");
    if (neg) int = int.slice(1);
    int = int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (neg ? "-" : "") + int + (frac ? "." + frac : "");
  }

  const fmtPrice = (t) => fmt(t, PRICE_PLACES);
  const fmtQty = (t) => fmt(t, QTY_PLACES);
  // Orders and fills of every market, each with its own tick and step.
  const BY_SYMBOL = Object.fromEntries(MARKETS.map((m) => [m.symbol, m]));
  const PLACES = Object.fromEntries(
    MARKETS.map((m) => [m.symbol, [placesOf(m.filters.price.tickSize), placesOf(m.filters.quantity.stepSize)]]),
  );
  const fmtPriceOf = (symbol, t) => fmt(t, (PLACES[symbol] || [])[0]);
  const fmtQtyOf = (symbol, t) => fmt(t, (PLACES[symbol] || [])[1]);
  const quoteOf = (symbol) => (BY_SYMBOL[symbol] || {}).quoteSymbol || "";

  // --- small DOM helpers ----------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);

  /** An element with attributes and children; text always goes in as text (no HTML parsing). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "dataset") Object.assign(node.dataset, v);
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  /** A toggle button's state, for the eye (class) and for screen readers (aria-pressed). */
  function pressed(button, on) {
    button.classList.toggle("active", on);
    button.setAttribute("aria-pressed", String(on));
  }

  function setText(id, text) {
    const node = $(id);
    if (node) node.textContent = text;
  }

  const pad2 = (n) => String(n).padStart(2, "0");

  /** ms -> "2026-11-25 07:52:38" in the viewer's time zone. */
  function localDateTime(ms) {
    const d = new Date(ms);
    if (Number.isNaN(d.getTime())) return "–";
    const date = `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
    return `${date} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  }

  function clockTime(ms) {
    const d = new Date(ms);
    return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  }

  /** "2025-07-19 13:09:00", "2025-08-06T22:00:00" or "...T15:52:38.123" (UTC, no zone) -> ms. */
  function utcMs(text) {
    return Date.parse(String(text).replace(" ", "T") + "Z");
  }

  /** An order's or fill's time as the API gives it (int ms, or naive ISO in UTC) -> ms. */
  function timeMs(value) {
    return typeof value === "number" ? value : utcMs(value);
  }

  /** localStorage, which a browser may refuse (private modes, policies): then nothing is kept. */
  const storage = {
    get(key) {
      try {
        return localStorage.getItem(key);
      } catch (err) {
        return null;
      }
    },
    set(key, value) {
      try {
        localStorage.setItem(key, value);
      } catch (err) {
        /* not kept */
      }
    },
  };

  function debounce(fn, ms) {
    let timer = null;
    return (...args) => {
      clearTimeout(timer);
      timer = setTimeout(() => fn(...args), ms);
    };
  }

  // --- HTTP -----------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(code, message, status) {
      super(message);
      this.code = code;
      this.status = status;
    }
  }

  /** JSON from our API; an error body {"code", "message"} (or any non-2xx) throws ApiError. */
  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    const init = { method, headers, credentials: "same-origin", cache: "no-store" };
    if (method !== "GET") headers["X-CSRFToken"] = CSRF;
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (err) {
      throw new ApiError("NETWORK_ERROR", "The server cannot be reached", 0);
    }
    let data = null;
    try {
      data = await res.json();
    } catch (err) {
      data = null;
    }
    const isError = data && typeof data === "object" && !Array.isArray(data) && "code" in data;
    if (!res.ok || isError) {
      const code = (isError && data.code) || `HTTP_${res.status}`;
      const message = (isError && data.message) || `The server answered ${res.status} ${res.statusText}`;
      throw new ApiError(code, message, res.status);
    }
    return data;
  }

  const q = encodeURIComponent;

  // --- websocket ------------------------------------------------------------------------------
  // One connection for everything. Every (re)connection subscribes to all the streams the page
  // follows, then each component fetches its snapshot again: nothing falls between the two.

  const stream = {
    ws: null,
    handlers: new Map(), // public stream name -> handler(data)
    privateHandlers: new Map(), // private stream name -> handler(data)
    openListeners: [],
    backoffMs: 500,
    nextId: 1,
    privateRequestId: null,
    opened: 0, // connections that opened so far
    stableTimer: null,
    live: false,

    connect() {
      const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/";
      let ws;
      try {
        ws = new WebSocket(url);
      } catch (err) {
        this.retry();
        return;
      }
      this.ws = ws;
      setStatus("connecting", this.opened ? "reconnecting…" : "connecting…");
      ws.addEventListener("open", () => {
        if (this.ws !== ws) return;
        this.opened += 1;
        this.live = true;
        // Reset the backoff only once the connection proves stable: a server that accepts and
        // drops at once must not be hammered.
        clearTimeout(this.stableTimer);
        this.stableTimer = setTimeout(() => (this.backoffMs = 500), STABLE_AFTER_MS);
        setStatus("live", "live");
        this.send({ method: "SUBSCRIBE", params: [...this.handlers.keys()] });
        if (this.privateHandlers.size) {
          // Its own frame: a refused private subscription must not take the public ones along.
          this.privateRequestId = this.nextId;
          this.send({ method: "SUBSCRIBE", params: [...this.privateHandlers.keys()] });
        }
        const reconnected = this.opened > 1;
        this.openListeners.forEach((fn) => fn(reconnected));
      });
      ws.addEventListener("message", (ev) => {
        if (this.ws !== ws) return;
        let frame;
        try {
          frame = JSON.parse(ev.data);
        } catch (err) {
          return;
        }
        if (frame.error) {
          if (frame.id !== null && frame.id === this.privateRequestId) account.streamRefused(frame.error.message);
          else if (frame.id === null && /^Private streams ended/.test(frame.error.message || "")) {
            account.streamRefused(frame.error.message);
          } else console.warn("stream error", frame.error);
          return;
        }
        const handler = this.handlers.get(frame.stream) || this.privateHandlers.get(frame.stream);
        if (handler) handler(frame.data);
      });
      ws.addEventListener("close", () => {
        if (this.ws !== ws) return;
        this.live = false;
        clearTimeout(this.stableTimer);
        if (this.opened) {
          setStatus("down", "reconnecting…");
          notice("Connection lost: reconnecting. The page resynchronises when it is back.", "warn");
        } else setStatus("down", "connecting…");
        this.retry();
      });
    },

    retry() {
      const wait = this.backoffMs * (0.8 + Math.random() * 0.4);
      this.backoffMs = Math.min(this.backoffMs * 2, 8000);
      setTimeout(() => this.connect(), wait);
    },

    send(frame) {
      if (frame.params.length && this.ws && this.ws.readyState === WebSocket.OPEN) {
        this.ws.send(JSON.stringify({ ...frame, id: this.nextId++ }));
      }
    },

    subscribe(name, handler) {
      this.handlers.set(name, handler);
      this.send({ method: "SUBSCRIBE", params: [name] });
    },

    subscribePrivate(name, handler) {
      this.privateHandlers.set(name, handler);
    },

    unsubscribe(name) {
      if (this.handlers.delete(name)) this.send({ method: "UNSUBSCRIBE", params: [name] });
    },

    onOpen(fn) {
      this.openListeners.push(fn);
    },
  };

  function setStatus(state, text) {
    const node = $("ws-status");
    if (!node) return;
    node.textContent = text;
    node.dataset.state = state;
  }

  let noticeTimer = null;
  function notice(text, kind) {
    const node = $("ws-notice");
    if (!node) return;
    clearTimeout(noticeTimer);
    node.textContent = text;
    node.dataset.kind = kind || "";
    if (kind !== "warn") noticeTimer = setTimeout(() => (node.textContent = ""), NOTICE_MS);
  }

  // --- order book -----------------------------------------------------------------------------
  // The documented sync: buffer depth events, fetch the REST snapshot, drop events with
  // u <= lastUpdateId, apply the rest; each event's U must be the previous u + 1 (the first may
  // straddle the snapshot). A gap means an event was lost: fetch a new snapshot.

  const book = {
    bids: new Map(), // canonical price -> quantity
    asks: new Map(),
    lastId: null, // null while a snapshot is loading (events are buffered)
    synced: false,
    loaded: false,
    buffer: [],
    generation: 0,
    lastResyncAt: 0,
    resyncTimer: null,

    onEvent(event) {
      if (this.lastId === null) {
        this.buffer.push(event);
        if (this.buffer.length > 5000) this.buffer.shift();
        return;
      }
      this.apply(event);
    },

    apply(event) {
      if (event.u <= this.lastId) return true;
      const expected = this.lastId + 1;
      if (this.synced ? event.U !== expected : event.U > expected) {
        this.resync(`gap: expected ${expected}, got ${event.U}`);
        return false;
      }
      for (const [side, levels] of [[this.bids, event.b], [this.asks, event.a]]) {
        for (const [px, qty] of levels || []) {
          if (isZero(qty)) side.delete(canon(px));
          else side.set(canon(px), qty);
        }
      }
      this.lastId = event.u;
      this.synced = true;
      scheduleRender();
      return true;
    },

    resync(reason) {
      const generation = ++this.generation;
      this.lastId = null;
      this.synced = false;
      this.buffer = [];
      clearTimeout(this.resyncTimer);
      if (reason) setText("book-status", `resyncing (${reason})`);
      // Back-to-back resyncs (a snapshot behind the stream) wait a little instead of spinning.
      const wait = Math.max(0, this.lastResyncAt + 500 - Date.now());
      this.resyncTimer = setTimeout(() => this.load(generation), wait);
    },

    async load(generation) {
      this.lastResyncAt = Date.now();
      let snap;
      try {
        snap = await api("GET", `/api/v1/depth?symbol=${q(SYMBOL)}&limit=500`);
      } catch (err) {
        if (generation === this.generation) {
          setText("book-status", `order book unavailable: ${err.message}`);
          this.resyncTimer = setTimeout(() => this.load(generation), 2000);
        }
        return;
      }
      if (generation !== this.generation) return;
      this.bids = new Map(snap.bids.map(([px, qty]) => [canon(px), qty]));
      this.asks = new Map(snap.asks.map(([px, qty]) => [canon(px), qty]));
      this.lastId = Number(snap.lastUpdateId);
      this.loaded = true;
      setText("book-status", "");
      const buffered = this.buffer;
      this.buffer = [];
      for (const event of buffered) {
        if (!this.apply(event)) return; // a gap: a new resync has started
      }
      scheduleRender();
    },

    /** Best first: asks ascending, bids descending. */
    sorted() {
      const asks = [...this.asks.keys()].sort(decCmp).map((px) => [px, this.asks.get(px)]);
      const bids = [...this.bids.keys()].sort((a, b) => decCmp(b, a)).map((px) => [px, this.bids.get(px)]);
      return { asks, bids };
    },
  };

  /** ``render`` once at the next animation frame, however often it is asked for before then. */
  function onNextFrame(render) {
    let pending = false;
    return () => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        render();
      });
    };
  }

  const scheduleRender = onNextFrame(() => {
    const sorted = book.sorted();
    renderBook(sorted);
    depth.draw(sorted);
    updateHint();
  });

  // Grouping: levels merged into buckets of a multiple of the tick, bids rounded down and asks
  // rounded up (a bucket never shows a better price than its orders have), sizes summed exactly.
  const GROUPS = [1n, 10n, 100n, 1000n];
  let groupBy = 1n;

  function grouped(levels, isBid) {
    if (groupBy === 1n) return levels;
    const size = TICK_UNITS * groupBy;
    const out = [];
    for (const [px, qty] of levels) {
      const units = scaled(dec(px), PRICE_PLACES);
      let bucket = (units / size) * size;
      if (!isBid && bucket < units) bucket += size;
      const key = decText(bucket, PRICE_PLACES);
      const last = out[out.length - 1];
      if (last && last[0] === key) last[1] = decAdd(last[1], qty);
      else out.push([key, qty]);
    }
    return out;
  }

  function bookRows(levels, sideClass) {
    // Cumulative size from the best price outward, exact; bar widths are display-only numbers.
    let total = "0";
    const rows = levels.slice(0, BOOK_ROWS).map(([px, qty]) => {
      total = decAdd(total, qty);
      return { px, qty, total };
    });
    const max = rows.length ? Number(rows[rows.length - 1].total) : 0;
    return rows.map(({ px, qty, total: cum }) => {
      const width = max > 0 ? Math.max(1, (Number(cum) / max) * 100) : 0;
      return el(
        "div",
        { class: `book-row level ${sideClass}`, dataset: { price: px, quantity: qty }, title: "Click to use this price" },
        el("i", { class: "bar", style: `width:${width.toFixed(1)}%` }),
        el("span", { class: "px" }, fmtPrice(px)),
        el("span", { class: "qty" }, fmtQty(qty)),
        el("span", { class: "cum" }, fmtQty(cum)),
      );
    });
  }

  /** The mid of the best bid and ask, exact (one more decimal than the tick when needed). */
  function midPrice(bestBid, bestAsk) {
    const s = PRICE_PLACES + 1;
    return decText((scaled(dec(bestBid), s) + scaled(dec(bestAsk), s)) / 2n, s);
  }

  function renderBook({ asks, bids }) {
    const askRows = bookRows(grouped(asks, false), "ask").reverse(); // best ask next to the middle
    $("book-asks").replaceChildren(...askRows);
    $("book-bids").replaceChildren(...bookRows(grouped(bids, true), "bid"));
    const spread = $("book-spread");
    const mid = $("book-mid");
    if (asks.length && bids.length) {
      const diff = decSub(asks[0][0], bids[0][0]);
      const m = midPrice(bids[0][0], asks[0][0]);
      const pct = ((Number(diff) / Number(m)) * 100).toFixed(3); // display only
      spread.textContent = `Spread ${fmtPrice(diff)} (${pct}%)`;
      mid.textContent = fmtPrice(m);
      mid.dataset.price = m;
      mid.parentElement.hidden = false;
    } else {
      spread.textContent = asks.length || bids.length ? "One-sided book" : "No orders yet";
      mid.textContent = "";
      delete mid.dataset.price;
      mid.parentElement.hidden = true;
    }
  }

  function setupBook() {
    for (const id of ["book-asks", "book-bids"]) {
      $(id).addEventListener("click", (ev) => {
        const row = ev.target.closest(".level");
        const price = $("order-price");
        if (row && price) {
          price.value = row.dataset.price;
          price.dispatchEvent(new Event("input"));
        }
      });
    }
    const select = $("book-group");
    for (const g of GROUPS) {
      select.append(el("option", { value: String(g) }, decText(TICK_UNITS * g, PRICE_PLACES)));
    }
    select.addEventListener("change", () => {
      groupBy = BigInt(select.value);
      scheduleRender();
    });
    // Grouping is the book's: out of sight with the trades.
    tabListeners.set("book-pane", () => (select.parentElement.hidden = false));
    tabListeners.set("trades-pane", () => (select.parentElement.hidden = true));
  }

  // --- depth chart (our own canvas) -----------------------------------------------------------

  const COLORS = {
    bid: "#1fbf75",
    ask: "#f0515d",
    grid: "#262a33",
    text: "#8b93a1",
    bg: "#171a21",
    fg: "#e6e8eb",
  };

  /** The 2D context of a canvas sized to its box in device pixels, drawing in CSS pixels. */
  function prepare(canvas) {
    const ratio = window.devicePixelRatio || 1;
    const w = canvas.clientWidth;
    const h = canvas.clientHeight;
    if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
      canvas.width = Math.round(w * ratio);
      canvas.height = Math.round(h * ratio);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    ctx.font = "11px ui-monospace, SFMono-Regular, Menlo, monospace";
    return { ctx, w, h };
  }

  function axisLabel(v) {
    return v.toLocaleString(undefined, { maximumFractionDigits: PRICE_PLACES, minimumFractionDigits: 0 });
  }

  const depth = {
    geometry: null, // what the last draw showed, for the hover readout
    hoverX: null,

    /** Cumulative steps from the best price outward: numbers to draw, exact strings to read. */
    cumulate(levels) {
      let qty = "0";
      let value = "0";
      return levels.map(([px, size]) => {
        qty = decAdd(qty, size);
        value = decAdd(value, decMul(px, size));
        return { px, qty, value, x: Number(px), y: Number(qty) };
      });
    },

    draw(sorted) {
      const canvas = $("depth-canvas");
      if (!canvas) return;
      const { asks, bids } = sorted || book.sorted();
      const { ctx, w, h } = prepare(canvas);
      if (!asks.length && !bids.length) {
        this.geometry = null;
        ctx.fillStyle = COLORS.text;
        ctx.textAlign = "center";
        ctx.textBaseline = "middle";
        ctx.fillText("No orders in the book", w / 2, h / 2);
        canvas.setAttribute("aria-label", "Depth chart, no orders in the book");
        return;
      }
      let b = this.cumulate(bids);
      let a = this.cumulate(asks);
      // Centre on the mid price and show the same distance either side.
      const bestBid = b.length ? b[0].x : null;
      const bestAsk = a.length ? a[0].x : null;
      const mid = bestBid !== null && bestAsk !== null ? (bestBid + bestAsk) / 2 : (bestBid ?? bestAsk);
      const farBid = b.length ? mid - b[b.length - 1].x : 0;
      const farAsk = a.length ? a[a.length - 1].x - mid : 0;
      const half = Math.max(Math.min(Math.max(farBid, farAsk), mid * 0.2), mid * 0.002, 1e-9);
      b = b.filter((p) => p.x >= mid - half);
      a = a.filter((p) => p.x <= mid + half);
      const maxQty = Math.max(b.length ? b[b.length - 1].y : 0, a.length ? a[a.length - 1].y : 0) || 1;

      const pad = { l: 8, r: 8, t: 14, b: 18 };
      const pw = w - pad.l - pad.r;
      const ph = h - pad.t - pad.b;
      const x = (px) => pad.l + ((px - (mid - half)) / (2 * half)) * pw;
      const y = (qty) => pad.t + ph - (qty / maxQty) * ph;
      this.geometry = { b, a, mid, half, pad, pw, ph, x, y, w, h };

      const area = (points, color, towardLeft) => {
        if (!points.length) return;
        ctx.beginPath();
        ctx.moveTo(x(points[0].x), y(0));
        let prevY = y(0);
        for (const p of points) {
          ctx.lineTo(x(p.x), prevY);
          ctx.lineTo(x(p.x), y(p.y));
          prevY = y(p.y);
        }
        const edge = towardLeft ? pad.l : pad.l + pw;
        ctx.lineTo(edge, prevY);
        ctx.lineTo(edge, y(0));
        ctx.closePath();
        ctx.fillStyle = color + "33";
        ctx.fill();
        ctx.strokeStyle = color;
        ctx.lineWidth = 1.5;
        ctx.stroke();
      };
      area(b, COLORS.bid, true);
      area(a, COLORS.ask, false);

      ctx.fillStyle = COLORS.text;
      ctx.textBaseline = "alphabetic";
      ctx.textAlign = "left";
      ctx.fillText(axisLabel(mid - half), pad.l, h - 4);
      ctx.textAlign = "center";
      ctx.fillText(axisLabel(mid), pad.l + pw / 2, h - 4);
      ctx.textAlign = "right";
      ctx.fillText(axisLabel(mid + half), pad.l + pw, h - 4);
      ctx.textAlign = "left";
      ctx.fillText(`max ${maxQty.toLocaleString(undefined, { maximumFractionDigits: QTY_PLACES })} ${BASE}`, pad.l, pad.t - 3);
      canvas.setAttribute(
        "aria-label",
        `Depth chart: ${b.length ? `${fmtQty(b[b.length - 1].qty)} ${BASE} bid down to ${fmtPrice(b[b.length - 1].px)}` : "no bids"}, ` +
          `${a.length ? `${fmtQty(a[a.length - 1].qty)} ${BASE} offered up to ${fmtPrice(a[a.length - 1].px)}` : "no asks"}`,
      );
      if (this.hoverX !== null) this.drawHover(ctx);
    },

    /** The level under the pointer: bids left of the mid, asks right; the nearest step. */
    pick(px) {
      const g = this.geometry;
      if (!g) return null;
      const side = px < g.mid ? "bid" : "ask";
      const points = side === "bid" ? g.b : g.a;
      if (!points.length) return null;
      // Bids: the deepest level still at or above the pointer's price; asks: at or below it.
      let chosen = points[0];
      for (const p of points) {
        if (side === "bid" ? p.x >= px : p.x <= px) chosen = p;
        else break;
      }
      return { side, point: chosen };
    },

    drawHover(ctx) {
      const g = this.geometry;
      const px = g.mid - g.half + ((this.hoverX - g.pad.l) / g.pw) * 2 * g.half;
      const hit = this.pick(px);
      const readout = $("depth-readout");
      if (!hit) {
        readout.textContent = "";
        return;
      }
      const { side, point } = hit;
      const cx = g.x(point.x);
      const cy = g.y(point.y);
      ctx.strokeStyle = COLORS.fg;
      ctx.globalAlpha = 0.5;
      ctx.setLineDash([3, 3]);
      ctx.beginPath();
      ctx.moveTo(cx, g.pad.t);
      ctx.lineTo(cx, g.pad.t + g.ph);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.globalAlpha = 1;
      ctx.fillStyle = side === "bid" ? COLORS.bid : COLORS.ask;
      ctx.beginPath();
      ctx.arc(cx, cy, 3.5, 0, 2 * Math.PI);
      ctx.fill();
      const verb = side === "bid" ? "Bids at or above" : "Asks at or below";
      readout.textContent = `${verb} ${fmtPrice(point.px)}: ${fmtQty(point.qty)} ${BASE} · ${fmt(point.value, 2)} ${QUOTE}`;
      readout.dataset.side = side;
      readout.dataset.price = point.px;
      readout.dataset.quantity = point.qty;
    },

    setup() {
      const canvas = $("depth-canvas");
      canvas.addEventListener("mousemove", (ev) => {
        const rect = canvas.getBoundingClientRect();
        this.hoverX = ev.clientX - rect.left;
        this.draw();
      });
      canvas.addEventListener("mouseleave", () => {
        this.hoverX = null;
        const readout = $("depth-readout");
        readout.textContent = "Hover the depth chart for the size up to a price";
        delete readout.dataset.side;
        this.draw();
      });
    },
  };

  // --- recent trades --------------------------------------------------------------------------

  const trades = {
    list: [], // newest first: {id, price, quantity, ms, buyerMaker}
    lastId: 0,
    loaded: false,
    buffer: [],
    generation: 0,

    onEvent(d) {
      const t = { id: d.t, price: d.p, quantity: d.q, ms: Math.floor(d.T / 1000), buyerMaker: d.m };
      if (!this.loaded) this.buffer.push(t);
      else if (this.lastId && t.id > this.lastId + 1) this.reload(); // ids are sequential: one was lost
      else if (this.add(t)) this.render();
    },

    add(t) {
      if (t.id <= this.lastId) return false; // already in the REST snapshot
      this.list.unshift(t);
      this.lastId = t.id;
      if (this.list.length > TRADES_SHOWN) this.list.length = TRADES_SHOWN;
      return true;
    },

    async reload() {
      const generation = ++this.generation;
      this.loaded = false;
      this.buffer = [];
      let rows;
      try {
        rows = await api("GET", `/api/v1/trades?symbol=${q(SYMBOL)}&limit=${TRADES_SHOWN}`);
      } catch (err) {
        if (generation === this.generation) setTimeout(() => generation === this.generation && this.reload(), 3000);
        return;
      }
      if (generation !== this.generation) return;
      this.list = rows
        .map((r) => ({ id: r.id, price: r.price, quantity: r.quantity, ms: r.timestamp, buyerMaker: r.isBuyerMaker }))
        .reverse();
      this.lastId = this.list.length ? this.list[0].id : 0;
      this.loaded = true;
      for (const t of this.buffer.sort((x, y) => x.id - y.id)) this.add(t);
      this.buffer = [];
      this.render();
    },

    render() {
      const node = $("trades-list");
      if (!this.list.length) {
        node.replaceChildren(el("div", { class: "muted empty-note" }, "No trades yet"));
        return;
      }
      node.replaceChildren(
        ...this.list.map((t) =>
          el(
            "div",
            // The taker's side colours the row: a buyer-maker trade was a sell.
            { class: `book-row trade ${t.buyerMaker ? "ask" : "bid"}`, dataset: { tradeId: t.id, price: t.price, quantity: t.quantity } },
            el("span", { class: "px" }, fmtPrice(t.price)),
            el("span", { class: "qty" }, fmtQty(t.quantity)),
            el("span", { class: "time" }, clockTime(t.ms)),
          ),
        ),
      );
    },
  };

  // --- 24 h tickers: this market's header and the market list --------------------------------

  function showTicker(t) {
    // t: {first, last, high, low, volume, quoteVolume, trades} as decimal strings
    const traded = t.trades !== "0" && !isZero(t.last);
    setText("ticker-last", traded ? fmtPrice(t.last) : "–");
    setText("ticker-high", traded ? fmtPrice(t.high) : "–");
    setText("ticker-low", traded ? fmtPrice(t.low) : "–");
    setText("ticker-volume", fmtQty(t.volume));
    setText("ticker-quote-volume", fmt(t.quoteVolume, 2));
    setText("ticker-trades", fmt(t.trades));
    const change = $("ticker-change");
    if (!traded) {
      change.textContent = "–";
      change.className = "";
    } else {
      const diff = decSub(t.last, t.first);
      change.textContent = `${diff.startsWith("-") ? "" : "+"}${fmtPrice(diff)} (${percent(diff, t.first)})`;
      change.className = diff.startsWith("-") ? "down" : isZero(diff) ? "" : "up";
    }
    document.title = `${traded ? fmtPrice(t.last) + " · " : ""}${BASE}/${QUOTE} · Exchange`;
  }

  function percent(diff, base) {
    if (isZero(base)) return "0.00%";
    const pct = (Number(diff) / Number(base)) * 100; // display only
    return `${pct >= 0 ? "+" : ""}${pct.toFixed(2)}%`;
  }

  function tickerFromRest(r) {
    return {
      first: r.firstPrice,
      last: r.lastPrice,
      high: r.high,
      low: r.low,
      volume: r.volume,
      quoteVolume: r.quoteVolume,
      trades: String(r.trades),
    };
  }

  function tickerFromStream(d) {
    return { first: d.o, last: d.c, high: d.h, low: d.l, volume: d.v, quoteVolume: d.V, trades: String(d.n) };
  }

  function fillMarketRow(symbol, t) {
    const row = document.querySelector(`#markets-table tr[data-market="${CSS.escape(symbol)}"]`);
    if (!row) return;
    const traded = t.trades !== "0" && !isZero(t.last);
    row.querySelector(".last").textContent = traded ? fmtPriceOf(symbol, t.last) : "–";
    const change = row.querySelector(".change");
    const diff = traded ? decSub(t.last, t.first) : "0";
    change.textContent = traded ? percent(diff, t.first) : "–";
    change.className = "num change " + (diff.startsWith("-") ? "down" : isZero(diff) ? "" : "up");
    row.querySelector(".volume").textContent = fmt(t.quoteVolume, 2);
  }

  function onTicker(symbol, t) {
    if (symbol === SYMBOL) showTicker(t);
    fillMarketRow(symbol, t);
  }

  /** Every market's ticker in one request: at load and after a reconnection (the streams
   * keep them current in between). */
  async function loadTickers() {
    try {
      for (const r of await api("GET", "/api/v1/tickers")) onTicker(r.symbol, tickerFromRest(r));
    } catch (err) {
      setTimeout(loadTickers, 3000);
    }
  }

  // --- candlestick chart (lightweight-charts) -------------------------------------------------

  const INTERVALS = [...document.querySelectorAll("#interval-buttons button")].map((b) => b.dataset.interval);
  const MINUTE = 60;
  const FIXED_S = {
    "1m": MINUTE, "3m": 3 * MINUTE, "5m": 5 * MINUTE, "15m": 15 * MINUTE, "30m": 30 * MINUTE,
    "1h": 3600, "2h": 7200, "4h": 14400, "6h": 21600, "8h": 28800, "12h": 43200,
    "1d": 86400, "3d": 3 * 86400, "1w": 7 * 86400,
  }; // prettier-ignore
  const WEEK_ANCHOR_S = 4 * 86400; // 1970-01-05, a Monday: weekly buckets start on Mondays (UTC)
  const WINDOW = 400; // buckets per klines request
  const MARKET_START_S = Math.floor(utcMs(MARKET.createdAt) / 1000) || 0;

  /** Bucket arithmetic of contract/intervals.py, in seconds (UTC). */
  const buckets = {
    start(iv, s) {
      if (iv === "1month") {
        const d = new Date(s * 1000);
        return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / 1000;
      }
      const len = FIXED_S[iv];
      const origin = iv === "1w" ? WEEK_ANCHOR_S : 0;
      return Math.floor((s - origin) / len) * len + origin;
    },
    next(iv, s) {
      if (iv === "1month") {
        const d = new Date(s * 1000);
        return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) / 1000;
      }
      return s + FIXED_S[iv];
    },
    back(iv, s, n) {
      if (iv === "1month") {
        const d = new Date(s * 1000);
        return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - n, 1) / 1000;
      }
      return s - n * FIXED_S[iv];
    },
  };

  const isDaily = (iv) => iv === "1d" || iv === "3d" || iv === "1w" || iv === "1month";
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  const chart = {
    interval: "1m",
    api: null,
    candleSeries: null,
    volumeSeries: null,
    bars: new Map(), // bucket start (s) -> {t, o, h, l, c, v} (decimal strings)
    first: null, // earliest bucket of the loaded window (s)
    last: null, // latest bucket on the axis (s)
    generation: 0,
    loadingOlder: false,
    reachedStart: false,
    hovered: null,
    lastVolume: -Infinity, // time of the volume series' latest bar

    streamName() {
      return `kline.${this.interval}.${SYMBOL}`;
    },

    init() {
      const saved = storage.get("trade.interval");
      if (INTERVALS.includes(saved)) this.interval = saved;
      this.markButtons();
      const LWC = window.LightweightCharts;
      const box = $("kline-chart");
      if (!LWC) {
        this.note("The chart library is not installed: run `npm ci` (or `make run`) and reload.");
        box.setAttribute("aria-label", "Candlestick chart unavailable: the chart library is not installed");
        return;
      }
      this.api = LWC.createChart(box, {
        autoSize: true,
        layout: {
          background: { type: LWC.ColorType.Solid, color: COLORS.bg },
          textColor: COLORS.text,
          fontFamily: "ui-monospace, SFMono-Regular, Menlo, monospace",
          fontSize: 11,
        },
        grid: { vertLines: { color: COLORS.grid }, horzLines: { color: COLORS.grid } },
        crosshair: { mode: LWC.CrosshairMode.Normal },
        rightPriceScale: { borderColor: COLORS.grid },
        timeScale: {
          borderColor: COLORS.grid,
          timeVisible: true,
          secondsVisible: false,
          rightOffset: 3,
          barSpacing: 8,
          tickMarkFormatter: (time, type) => this.tickLabel(time, type),
        },
        localization: { timeFormatter: (time) => this.timeLabel(time) },
      });
      this.candleSeries = this.api.addSeries(LWC.CandlestickSeries, {
        upColor: COLORS.bid,
        downColor: COLORS.ask,
        borderVisible: false,
        wickUpColor: COLORS.bid,
        wickDownColor: COLORS.ask,
        priceFormat: { type: "price", precision: PRICE_PLACES, minMove: Number(TICK) },
      });
      this.candleSeries.priceScale().applyOptions({ scaleMargins: { top: 0.1, bottom: 0.25 } });
      this.volumeSeries = this.api.addSeries(LWC.HistogramSeries, {
        priceFormat: { type: "volume" },
        priceScaleId: "volume",
        lastValueVisible: false,
        priceLineVisible: false,
      });
      this.api.priceScale("volume").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
      this.api.subscribeCrosshairMove((param) => {
        this.hovered = param && param.time !== undefined && param.point ? param.time : null;
        this.legend();
      });
      this.api.timeScale().subscribeVisibleLogicalRangeChange((range) => {
        if (range && range.from < 20) this.loadOlder();
      });
      // The axis runs in real time even without trades: the current bucket appears on time.
      setInterval(() => this.extendTo(buckets.start(this.interval, Date.now() / 1000)), 5000);
      // For the page's tests and the curious: the chart object of the library.
      box.lwChart = { chart: this.api, candles: this.candleSeries, volume: this.volumeSeries };
    },

    markButtons() {
      for (const b of document.querySelectorAll("#interval-buttons button")) {
        pressed(b, b.dataset.interval === this.interval);
      }
    },

    setInterval(interval) {
      if (interval === this.interval || !INTERVALS.includes(interval)) return;
      stream.unsubscribe(this.streamName());
      this.interval = interval;
      storage.set("trade.interval", interval);
      this.bars = new Map();
      this.first = this.last = null;
      this.reachedStart = false;
      this.markButtons();
      stream.subscribe(this.streamName(), (d) => this.onEvent(d));
      this.reload(true);
    },

    note(text) {
      const node = $("kline-note");
      node.hidden = !text;
      node.textContent = text || "";
    },

    // Labels: intraday buckets in the viewer's time zone, day and longer buckets as the UTC
    // days they cover (as contract/intervals.py cuts them).
    timeLabel(time) {
      const d = new Date(time * 1000);
      if (this.interval === "1month") return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}`;
      if (isDaily(this.interval)) return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
      return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
    },

    tickLabel(time, type) {
      const d = new Date(time * 1000);
      if (isDaily(this.interval)) {
        if (type === 0) return String(d.getUTCFullYear());
        if (type === 1) return MONTHS[d.getUTCMonth()];
        return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
      }
      // The library marks UTC boundaries; the label says what the instant is here.
      if (d.getHours() === 0 && d.getMinutes() === 0) return `${d.getDate()} ${MONTHS[d.getMonth()]}`;
      return `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
    },

    bar(c) {
      return { time: c.t, open: Number(c.o), high: Number(c.h), low: Number(c.l), close: Number(c.c) };
    },

    volumeBar(c) {
      const up = Number(c.c) >= Number(c.o);
      return { time: c.t, value: Number(c.v), color: (up ? COLORS.bid : COLORS.ask) + "66" };
    },

    /** Every bucket of [first, last]: a candle, or an empty slot where nothing traded. */
    render() {
      if (!this.api || this.first === null) return;
      const candles = [];
      const volumes = [];
      for (let t = this.first; t <= this.last; t = buckets.next(this.interval, t)) {
        const c = this.bars.get(t);
        candles.push(c ? this.bar(c) : { time: t });
        if (c) volumes.push(this.volumeBar(c));
      }
      this.lastVolume = volumes.length ? volumes[volumes.length - 1].time : -Infinity;
      this.candleSeries.setData(candles);
      this.volumeSeries.setData(volumes);
      this.note(this.bars.size ? "" : "No trades in this period yet");
      this.legend();
    },

    async reload(scrollToNow) {
      const generation = ++this.generation;
      const startedAt = Date.now();
      const now = buckets.start(this.interval, Date.now() / 1000);
      const start = Math.max(buckets.back(this.interval, now, WINDOW - 1), buckets.start(this.interval, MARKET_START_S));
      let rows;
      try {
        rows = await api("GET", `/api/v1/klines?symbol=${q(SYMBOL)}&interval=${this.interval}&startTime=${start}`);
      } catch (err) {
        if (generation === this.generation) setTimeout(() => generation === this.generation && this.reload(scrollToNow), 3000);
        return;
      }
      if (generation !== this.generation) return;
      // Stream updates that arrived while loading are newer than the REST rows of their bucket.
      const live = [...this.bars.values()].filter((c) => c.t >= start && c.at >= startedAt);
      for (const r of rows) this.bars.set(utcMs(r.start) / 1000, this.fromRest(r));
      for (const c of live) this.bars.set(c.t, c);
      if (this.first === null || start < this.first) this.first = start;
      this.last = Math.max(this.last ?? now, now, ...[...this.bars.keys()]);
      this.reachedStart = this.first <= MARKET_START_S;
      this.render();
      if (scrollToNow && this.api) this.api.timeScale().scrollToRealTime();
    },

    fromRest(r) {
      return { t: utcMs(r.start) / 1000, o: r.open, h: r.high, l: r.low, c: r.close, v: r.volume };
    },

    /** Older candles when the chart is scrolled near its left edge, a window at a time. */
    async loadOlder() {
      if (this.loadingOlder || this.reachedStart || this.first === null) return;
      this.loadingOlder = true;
      const generation = this.generation;
      const end = this.first;
      const start = Math.max(buckets.back(this.interval, end, WINDOW), buckets.start(this.interval, MARKET_START_S));
      try {
        const rows = await api(
          "GET",
          `/api/v1/klines?symbol=${q(SYMBOL)}&interval=${this.interval}&startTime=${start}&endTime=${end}`,
        );
        if (generation !== this.generation) return;
        for (const r of rows) {
          const c = this.fromRest(r);
          if (!this.bars.has(c.t)) this.bars.set(c.t, c);
        }
        this.first = Math.min(this.first, start);
        this.reachedStart = start <= MARKET_START_S;
        this.render(); // the library keeps the view where it was
      } catch (err) {
        /* the next scroll tries again */
      } finally {
        this.loadingOlder = false;
      }
    },

    /** Empty slots up to bucket `t` (the current one, or one a kline event opened). */
    extendTo(t) {
      if (!this.api || this.last === null || t <= this.last) return;
      for (let s = buckets.next(this.interval, this.last); s <= t; s = buckets.next(this.interval, s)) {
        const c = this.bars.get(s);
        this.candleSeries.update(c ? this.bar(c) : { time: s });
        if (c) {
          this.volumeSeries.update(this.volumeBar(c));
          this.lastVolume = s;
        }
        this.last = s;
      }
    },

    onEvent(d) {
      if (d.s !== SYMBOL) return;
      const c = { t: utcMs(d.t) / 1000, o: d.o, h: d.h, l: d.l, c: d.c, v: d.v, at: Date.now() };
      this.bars.set(c.t, c);
      if (!this.api || this.first === null) return; // the REST load merges it
      if (c.t < this.first) return;
      if (c.t > this.last) {
        this.extendTo(c.t);
      } else {
        try {
          // The open candle, or (a final frame after the next candle's first) the one before.
          this.candleSeries.update(this.bar(c), c.t !== this.last);
          this.volumeSeries.update(this.volumeBar(c), c.t < this.lastVolume);
          this.lastVolume = Math.max(this.lastVolume, c.t);
        } catch (err) {
          this.render();
        }
      }
      this.note("");
      this.legend();
    },

    /** The OHLCV of the hovered candle, else of the latest one; and the chart's text for
     * screen readers. */
    legend() {
      const latest = this.bars.size ? Math.max(...this.bars.keys()) : null;
      const t = this.hovered !== null ? this.hovered : latest;
      const c = t !== null ? this.bars.get(t) : null;
      setText("kline-time", t !== null ? this.timeLabel(t) : "");
      const text = c
        ? `O ${fmtPrice(c.o)}  H ${fmtPrice(c.h)}  L ${fmtPrice(c.l)}  C ${fmtPrice(c.c)}  V ${fmtQty(c.v)}`
        : t !== null
          ? "no trades"
          : "";
      const legend = $("kline-legend");
      legend.textContent = text;
      legend.className = c ? (Number(c.c) >= Number(c.o) ? "up" : "down") : "muted";
      const last = latest !== null ? this.bars.get(latest) : null;
      $("kline-chart").setAttribute(
        "aria-label",
        last
          ? `Candlestick chart of ${BASE}/${QUOTE}, ${this.interval} candles; latest ${this.timeLabel(latest)}: ` +
              `open ${fmtPrice(last.o)}, high ${fmtPrice(last.h)}, low ${fmtPrice(last.l)}, close ${fmtPrice(last.c)}, ` +
              `volume ${fmtQty(last.v)} ${BASE}`
          : `Candlestick chart of ${BASE}/${QUOTE}, ${this.interval} candles, no trades in this period yet`,
      );
    },
  };

  // --- tabs -----------------------------------------------------------------------------------

  const tabListeners = new Map(); // pane id -> fn() when its tab is chosen

  function setupTabs() {
    for (const bar of document.querySelectorAll(".tabs")) {
      const tabs = [...bar.querySelectorAll(".tab")];
      const choose = (tab) => {
        for (const other of tabs) {
          other.classList.toggle("active", other === tab);
          other.setAttribute("aria-selected", String(other === tab));
          other.tabIndex = other === tab ? 0 : -1;
          const pane = $(other.dataset.tab);
          if (pane) pane.hidden = other !== tab;
        }
        const fn = tabListeners.get(tab.dataset.tab);
        if (fn) fn();
      };
      tabs.forEach((t) => (t.tabIndex = t.classList.contains("active") ? 0 : -1));
      bar.addEventListener("click", (ev) => {
        const tab = ev.target.closest(".tab");
        if (tab) choose(tab);
      });
      bar.addEventListener("keydown", (ev) => {
        const i = tabs.indexOf(document.activeElement);
        if (i < 0 || (ev.key !== "ArrowRight" && ev.key !== "ArrowLeft")) return;
        const next = tabs[(i + (ev.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
        next.focus();
        choose(next);
        ev.preventDefault();
      });
    }
  }

  // --- private: balances, open orders, fills, order history -----------------------------------
  // State from the private streams; the REST snapshot replaces it once at load and after each
  // reconnection, and the events received while it loaded are applied again on top (each
  // carries the whole state of its order or balance, and older ones cannot undo newer ones).

  const FINAL = new Set(["Filled", "Cancelled", "Expired", "TriggerFailed"]);
  const STATUS_RANK = {
    TriggerPending: -1,
    New: 0,
    PartiallyFilled: 1,
    Filled: 2,
    Cancelled: 2,
    Expired: 2,
    TriggerFailed: 2,
  };

  /** Whether `next` may replace `cur` (same order): never backwards in filled quantity or status. */
  function newer(next, cur) {
    if (!cur) return true;
    const c = decCmp(next.executedQuantity || "0", cur.executedQuantity || "0");
    if (c !== 0) return c > 0;
    return (STATUS_RANK[next.status] ?? 0) >= (STATUS_RANK[cur.status] ?? 0);
  }

  const account = {
    orders: new Map(), // open orders: id -> order object
    closed: new Set(), // ids of orders seen final (an older answer must not bring one back)
    known: new Map(), // id -> the newest state seen of an order this page saw change (bounded)
    balances: {},
    fills: new Map(), // "symbol:tradeId" -> fill
    generation: 0,
    recording: null, // events received while a snapshot loads: [kind, data]
    loaded: false,
    fillsLoaded: false,
    refused: false,
    history: { offset: 0, rows: [], loaded: false, loading: false, thisMarket: false, more: false },

    subscribe() {
      stream.subscribePrivate("account.orderUpdate", (d) => this.event("order", d));
      stream.subscribePrivate("account.balanceUpdate", (d) => this.event("balance", d));
    },

    event(kind, d) {
      if (this.recording) this.recording.push([kind, d]);
      if (kind === "order") this.applyOrderEvent(d);
      else this.applyBalance(d.a, { available: d.A, locked: d.L });
      scheduleAccountRender();
    },

    streamRefused(message) {
      this.refused = true;
      const ended = /session|signature|ended/i.test(message || "");
      setText(
        "account-status",
        ended ? "Your session has ended: log in again." : `Live account updates are unavailable: ${message}`,
      );
    },

    /** After the private subscription (re)started: one REST snapshot of everything. */
    async load() {
      const generation = ++this.generation;
      this.recording = [];
      const fillsRead = new Promise((resolve) => setTimeout(resolve, FILLS_DELAY_MS)).then(() =>
        api("GET", "/wapi/v1/history/fills?limit=50"),
      );
      const [capital, orders] = await Promise.allSettled([api("GET", "/api/v1/capital"), api("GET", "/api/v1/orders")]);
      if (generation !== this.generation) return;
      const replay = this.recording;
      this.recording = null;
      if (capital.status === "fulfilled") {
        this.balances = {};
        for (const [asset, b] of Object.entries(capital.value)) this.balances[asset] = b;
      }
      if (orders.status === "fulfilled") {
        this.orders = new Map(orders.value.filter((o) => !this.closed.has(o.id)).map((o) => [o.id, o]));
      }
      for (const [kind, d] of replay) {
        if (kind === "order") this.applyOrderEvent(d);
        else this.applyBalance(d.a, { available: d.A, locked: d.L });
      }
      this.loaded = true;
      this.reportLoad([capital, orders]);
      scheduleAccountRender();
      // Fills: merged with those the stream brought meanwhile (the same fill once).
      const [fills] = await Promise.allSettled([fillsRead]);
      if (generation !== this.generation) return;
      if (fills.status === "fulfilled") {
        for (const f of fills.value) this.addFill({ ...f, ms: timeMs(f.timestamp) });
      }
      this.fillsLoaded = true;
      this.reportLoad([capital, orders, fills]);
      scheduleAccountRender();
    },

    reportLoad(results) {
      const failed = results.find((r) => r.status === "rejected");
      if (!failed) {
        if (!this.refused) setText("account-status", "");
      } else if (failed.reason.status === 401 || failed.reason.status === 403) {
        setText("account-status", "Your session has ended: log in again.");
      } else setText("account-status", `Could not load your account: ${failed.reason.message}`);
    },

    /** Without a live socket an action's outcome cannot arrive by stream: read it once. */
    afterAction() {
      if (!stream.live || this.refused) this.load();
    },

    applyBalance(asset, b) {
      this.balances[asset] = { available: b.available, locked: b.locked };
    },

    /** An order object (REST shape) from an account.orderUpdate event. */
    orderFromEvent(d) {
      const known = this.orders.get(d.i) || this.historyRow(d.i);
      return {
        id: d.i,
        clientId: d.c ?? null,
        createdAt: known ? known.createdAt : Math.floor(d.T / 1000),
        symbol: d.s,
        side: d.S,
        orderType: d.o === "MARKET" ? "Market" : "Limit",
        timeInForce: d.f,
        postOnly: known ? known.postOnly : false,
        price: d.p,
        quantity: d.q,
        quoteQuantity: known ? known.quoteQuantity : null,
        executedQuantity: d.z,
        executedQuoteQuantity: d.Z,
        status: d.X,
        triggerPrice: d.P ?? (known ? known.triggerPrice : null),
      };
    },

    applyOrderEvent(d) {
      this.applyOrder(this.orderFromEvent(d));
      if (d.e === "orderFill") {
        this.addFill({
          tradeId: d.t,
          orderId: d.i,
          symbol: d.s,
          side: d.S,
          price: d.L,
          quantity: d.l,
          fee: d.n,
          feeSymbol: d.N,
          isMaker: d.m,
          ms: Math.floor(d.T / 1000),
        });
      }
    },

    /** The newest known state of an order, from a stream event or an API answer. */
    applyOrder(o) {
      if (this.closed.has(o.id) && !FINAL.has(o.status)) return;
      const cur = this.orders.get(o.id);
      if (!newer(o, cur)) return;
      if (newer(o, this.known.get(o.id))) {
        this.known.delete(o.id); // re-inserted last: the map keeps the most recent
        this.known.set(o.id, o);
        if (this.known.size > 500) this.known.delete(this.known.keys().next().value);
      }
      if (FINAL.has(o.status)) {
        this.orders.delete(o.id);
        this.closed.add(o.id);
        if (this.closed.size > 5000) this.closed.delete(this.closed.values().next().value);
      } else {
        this.orders.set(o.id, cur ? { ...cur, ...o, postOnly: cur.postOnly || o.postOnly } : o);
      }
      this.historyUpsert(o);
    },

    addFill(f) {
      this.fills.set(`${f.symbol}:${f.tradeId}`, f);
      if (this.fills.size > FILLS_KEPT * 2) {
        const keep = [...this.fills.entries()].sort((x, y) => y[1].ms - x[1].ms).slice(0, FILLS_KEPT);
        this.fills = new Map(keep);
      }
    },

    // Order history: a page of /wapi/v1/history/orders; the first page also follows the
    // stream (a new order on top, a changed one in place).
    historyRow(id) {
      return this.history.rows.find((r) => r.id === id);
    },

    historyUpsert(o) {
      const h = this.history;
      if (!h.loaded || h.offset !== 0 || (h.thisMarket && o.symbol !== SYMBOL)) return;
      const i = h.rows.findIndex((r) => r.id === o.id);
      if (i >= 0) {
        if (newer(o, h.rows[i])) h.rows[i] = { ...h.rows[i], ...o, postOnly: h.rows[i].postOnly || o.postOnly };
      } else {
        h.rows.unshift(o);
        if (h.rows.length > HISTORY_PAGE) {
          h.rows.length = HISTORY_PAGE;
          h.more = true;
        }
      }
    },

    async loadHistory() {
      const h = this.history;
      h.loading = true;
      setText("history-page", `Page ${h.offset / HISTORY_PAGE + 1} · loading…`);
      const symbol = h.thisMarket ? `&symbol=${q(SYMBOL)}` : "";
      const offset = h.offset;
      try {
        // One more than a page: whether there is an older page.
        const rows = await api("GET", `/wapi/v1/history/orders?limit=${HISTORY_PAGE + 1}&offset=${offset}${symbol}`);
        if (offset !== h.offset) return;
        h.more = rows.length > HISTORY_PAGE;
        h.rows = rows.slice(0, HISTORY_PAGE);
        // An order the stream knows better (the database lags the engine a little).
        for (const [i, r] of h.rows.entries()) {
          const live = this.known.get(r.id);
          if (live && newer(live, r) && (live.status !== r.status || live.executedQuantity !== r.executedQuantity)) {
            h.rows[i] = { ...r, ...live, createdAt: r.createdAt, postOnly: r.postOnly, quoteQuantity: r.quoteQuantity };
          }
        }
        h.loaded = true;
      } catch (err) {
        setText("action-result", `Order history: ${err.message}`);
      } finally {
        h.loading = false;
        scheduleAccountRender();
      }
    },
  };

  const scheduleAccountRender = onNextFrame(() => {
    renderBalances();
    renderOrders();
    renderFills();
    renderHistory();
    updateHint();
  });

  /** A table body: a row per item, or one row of ``columns`` cells saying there is none. */
  function fillBody(id, columns, noneText, items, row) {
    $(id).replaceChildren(
      ...(items.length ? items.map(row) : [el("tr", { class: "empty" }, el("td", { colspan: columns }, noneText))]),
    );
  }

  function renderBalances() {
    if (!account.loaded) return;
    const data = account.balances;
    for (const row of document.querySelectorAll("[data-balance]")) {
      const b = data[row.dataset.balance] || { available: "0", locked: "0" };
      row.querySelector(".available").textContent = fmt(b.available);
      row.querySelector(".locked").textContent = fmt(b.locked);
    }
    const assets = Object.keys(data).sort();
    fillBody("balances-body", 3, "No balances yet", assets, (a) =>
      el(
        "tr",
        { dataset: { asset: a } },
        el("td", {}, a),
        el("td", { class: "num available" }, fmt(data[a].available)),
        el("td", { class: "num locked" }, fmt(data[a].locked)),
      ),
    );
  }

  function sideCell(side) {
    return el("td", { class: side === "Bid" ? "up" : "down" }, side === "Bid" ? "Buy" : "Sell");
  }

  /** A trigger order shows where it is placed: "Limit · trigger 105". */
  function typeText(o) {
    return o.triggerPrice ? `${o.orderType} · trigger ${fmtPriceOf(o.symbol, o.triggerPrice)}` : o.orderType;
  }

  function tifText(o) {
    return o.postOnly ? `${o.timeInForce} · Post` : o.timeInForce || "–";
  }

  /** A market buy by budget has no quantity: its budget shows instead. */
  function quantityText(o) {
    if (o.quantity !== null && o.quantity !== undefined) return fmtQtyOf(o.symbol, o.quantity);
    return o.quoteQuantity ? `${fmt(o.quoteQuantity)} ${quoteOf(o.symbol)}` : "–";
  }

  function shownOrders() {
    const onlyHere = $("orders-this-market").checked;
    return [...account.orders.values()]
      .filter((o) => !onlyHere || o.symbol === SYMBOL)
      .sort((a, b) => timeMs(b.createdAt) - timeMs(a.createdAt) || Number(b.id) - Number(a.id));
  }

  function renderOrders() {
    if (!account.loaded) return;
    const orders = shownOrders();
    setText("open-count", account.orders.size ? `(${account.orders.size})` : "");
    const cancelAll = $("cancel-all");
    if (!cancelAll.classList.contains("confirm")) cancelAll.disabled = !orders.length;
    fillBody("orders-body", 10, "No open orders", orders, (o) =>
      el(
        "tr",
        { dataset: { orderId: o.id, symbol: o.symbol }, class: o.symbol === SYMBOL ? "" : "other-market" },
        el("td", { class: "time" }, localDateTime(timeMs(o.createdAt))),
        el("td", {}, el("a", { href: `/trade/${encodeURIComponent(o.symbol)}` }, o.symbol)),
        sideCell(o.side),
        el("td", { class: "type" }, typeText(o)),
        el("td", { class: "num price" }, o.price === null ? "Market" : fmtPriceOf(o.symbol, o.price)),
        el("td", { class: "num quantity" }, quantityText(o)),
        el("td", { class: "num filled" }, fmtQtyOf(o.symbol, o.executedQuantity)),
        el("td", { class: "tif" }, tifText(o)),
        el("td", { class: "status" }, o.status),
        el(
          "td",
          { class: "num" },
          el(
            "button",
            {
              type: "button",
              class: "danger small-btn cancel",
              "aria-label": `Cancel order ${o.id}`,
              onclick: () => cancelOrder(o),
            },
            "Cancel",
          ),
        ),
      ),
    );
  }

  function renderFills() {
    if (!account.fillsLoaded) return;
    const fills = [...account.fills.values()].sort((a, b) => b.ms - a.ms || b.tradeId - a.tradeId).slice(0, FILLS_KEPT);
    fillBody("fills-body", 7, "No fills yet", fills, (f) =>
      el(
        "tr",
        { dataset: { tradeId: f.tradeId, symbol: f.symbol, orderId: f.orderId } },
        el("td", {}, localDateTime(f.ms)),
        el("td", {}, f.symbol),
        sideCell(f.side),
        el("td", { class: "num" }, fmtPriceOf(f.symbol, f.price)),
        el("td", { class: "num" }, fmtQtyOf(f.symbol, f.quantity)),
        el("td", { class: "num" }, `${fmt(f.fee)} ${f.feeSymbol}`),
        el("td", {}, f.isMaker ? "Maker" : "Taker"),
      ),
    );
  }

  function renderHistory() {
    const h = account.history;
    if (!h.loaded) return;
    const page = h.offset / HISTORY_PAGE + 1;
    setText("history-page", `Page ${page}`);
    $("history-newer").disabled = h.offset === 0 || h.loading;
    $("history-older").disabled = !h.more || h.loading;
    fillBody("history-body", 10, h.offset ? "No older orders" : "No orders yet", h.rows, (o) =>
      el(
        "tr",
        { dataset: { orderId: o.id, symbol: o.symbol, status: o.status } },
        el("td", { class: "time" }, localDateTime(timeMs(o.createdAt))),
        el("td", {}, o.symbol),
        sideCell(o.side),
        el("td", { class: "type" }, typeText(o)),
        el("td", { class: "num price" }, o.price === null ? "Market" : fmtPriceOf(o.symbol, o.price)),
        el("td", { class: "num quantity" }, quantityText(o)),
        el("td", { class: "num filled" }, fmtQtyOf(o.symbol, o.executedQuantity)),
        el("td", { class: "num total" }, `${fmt(o.executedQuoteQuantity || "0")} ${quoteOf(o.symbol)}`),
        el("td", { class: "tif" }, tifText(o)),
        el("td", { class: `status ${o.status === "Filled" ? "up" : ""}` }, o.status),
      ),
    );
  }

  function setupAccount() {
    $("orders-this-market").addEventListener("change", () => {
      resetCancelAll();
      scheduleAccountRender();
    });
    $("cancel-all").addEventListener("click", cancelAll);
    tabListeners.set("history-pane", () => account.loadHistory());
    $("history-this-market").addEventListener("change", (ev) => {
      account.history.thisMarket = ev.target.checked;
      account.history.offset = 0;
      account.loadHistory();
    });
    $("history-newer").addEventListener("click", () => {
      account.history.offset = Math.max(0, account.history.offset - HISTORY_PAGE);
      account.loadHistory();
    });
    $("history-older").addEventListener("click", () => {
      account.history.offset += HISTORY_PAGE;
      account.loadHistory();
    });
  }

  async function cancelOrder(order) {
    setText("action-result", `Cancelling order ${order.id}…`);
    try {
      const cancelled = await api("DELETE", "/api/v1/order", { symbol: order.symbol, orderId: order.id });
      account.applyOrder(cancelled);
      setText("action-result", `Order ${order.id} cancelled`);
    } catch (err) {
      // Filled or cancelled since the list was drawn: not an error the user made.
      const gone = err.code === "RESOURCE_NOT_FOUND";
      setText("action-result", gone ? `Order ${order.id} is no longer open (filled or cancelled)` : `${err.code}: ${err.message}`);
    }
    scheduleAccountRender();
    account.afterAction();
  }

  // Cancel all: a first click asks, a second within a few seconds cancels every order shown
  // (all markets, or this one only), one DELETE /api/v1/orders per market.
  let cancelAllTimer = null;

  function resetCancelAll() {
    clearTimeout(cancelAllTimer);
    const button = $("cancel-all");
    button.classList.remove("confirm");
    button.textContent = "Cancel all";
    button.disabled = !shownOrders().length;
  }

  async function cancelAll() {
    const button = $("cancel-all");
    const orders = shownOrders();
    if (!orders.length) return;
    if (!button.classList.contains("confirm")) {
      button.classList.add("confirm");
      button.textContent = `Confirm: cancel ${orders.length}`;
      setText("action-result", `Cancel ${orders.length} open order${orders.length > 1 ? "s" : ""}? Click again to confirm.`);
      cancelAllTimer = setTimeout(() => {
        resetCancelAll();
        setText("action-result", "");
      }, 4000);
      return;
    }
    clearTimeout(cancelAllTimer);
    button.disabled = true;
    button.textContent = "Cancelling…";
    const symbols = [...new Set(orders.map((o) => o.symbol))];
    let count = 0;
    const errors = [];
    for (const symbol of symbols) {
      try {
        const cancelled = await api("DELETE", "/api/v1/orders", { symbol });
        cancelled.forEach((o) => account.applyOrder(o));
        count += cancelled.length;
      } catch (err) {
        errors.push(`${symbol}: ${err.code}: ${err.message}`);
      }
    }
    setText("action-result", errors.length ? `Cancelled ${count}; ${errors.join("; ")}` : `Cancelled ${count} order${count === 1 ? "" : "s"}`);
    resetCancelAll();
    scheduleAccountRender();
    account.afterAction();
  }

  // --- order form -----------------------------------------------------------------------------

  const form = { side: "Bid", type: "Limit", unit: "base", warning: "" }; // warning: of a % button

  const buyByBudget = () => form.type === "Market" && form.side === "Bid" && form.unit === "quote";

  function setupOrderForm() {
    const node = $("order-form");
    if (!node) return;
    const group = (attr, key) => {
      for (const b of node.querySelectorAll(`[data-${attr}]`)) {
        b.addEventListener("click", () => {
          form[key] = b.dataset[attr];
          node.querySelectorAll(`[data-${attr}]`).forEach((o) => pressed(o, o === b));
          updateForm();
        });
      }
    };
    group("side", "side");
    group("type", "type");
    group("unit", "unit");
    for (const id of ["order-price", "order-quantity", "order-amount"]) {
      $(id).addEventListener("input", () => {
        form.warning = "";
        updateHint();
      });
    }
    for (const b of node.querySelectorAll("[data-pct]")) {
      b.addEventListener("click", () => fillPercent(BigInt(b.dataset.pct)));
    }
    node.addEventListener("submit", submitOrder);
    updateForm();
  }

  function updateForm() {
    form.warning = "";
    const limit = form.type === "Limit";
    $("price-field").hidden = !limit;
    $("limit-options").hidden = !limit;
    $("amount-unit").hidden = !(form.type === "Market" && form.side === "Bid");
    const budget = buyByBudget();
    $("quantity-field").querySelector("input").hidden = budget;
    $("quantity-label").hidden = budget;
    $("amount-field").hidden = !budget;
    const submit = $("order-submit");
    submit.textContent = `${form.side === "Bid" ? "Buy" : "Sell"} ${BASE}${limit ? "" : " at market"}`;
    submit.className = `submit ${form.side === "Bid" ? "buy" : "sell"}`;
    updateHint();
  }

  /** The fee a buy of `total` holds back, as the engine computes it: the larger of the two fee
   * rates, rounded down to the quote asset's smallest unit. */
  function feeReserve(total) {
    const units = scaled(dec(total), QUOTE_DECIMALS);
    return decText((units * MAX_FEE_BPS) / 10000n, QUOTE_DECIMALS);
  }

  /** Quote units (smallest) one lot costs at `price`. */
  function lotCost(price) {
    return scaled({ n: scaled(dec(price), PRICE_PLACES) * scaled(dec(STEP), QTY_PLACES), s: PRICE_PLACES + QTY_PLACES }, QUOTE_DECIMALS);
  }

  /** Most lots with `unit*q + floor(unit*q*bps/10000) <= budget` (engine/core's _affordable). */
  function affordable(unit, budget, bps) {
    if (budget <= 0n || unit <= 0n) return 0n;
    let lots = (budget * 10000n) / (unit * (10000n + bps));
    for (;;) {
      const n = unit * (lots + 1n);
      if (n + (n * bps) / 10000n > budget) return lots;
      lots += 1n;
    }
  }

  /** Walk the asks with a quote budget: lots a market buy can take and what they cost (the
   * taker fee per level, which is at least what the engine charges per fill). */
  function walkAsksWithBudget(budget) {
    let lots = 0n;
    let left = budget;
    for (const [px, size] of book.sorted().asks) {
      const unit = lotCost(px);
      const levelLots = scaled(dec(size), QTY_PLACES) / scaled(dec(STEP), QTY_PLACES);
      let f = affordable(unit, left, TAKER_BPS);
      if (f > levelLots) f = levelLots;
      const n = unit * f;
      left -= n + (n * TAKER_BPS) / 10000n;
      lots += f;
      if (f < levelLots) break;
    }
    return lots;
  }

  /** What filling `qty` from the book would come to: {value, short} (value exact, in quote). */
  function walkBook(levels, qty) {
    let left = dec(qty) ? scaled(dec(qty), QTY_PLACES) : 0n;
    let value = "0";
    for (const [px, size] of levels) {
      if (left <= 0n) break;
      const here = scaled(dec(size), QTY_PLACES);
      const take = here < left ? here : left;
      value = decAdd(value, decMul(px, decText(take, QTY_PLACES)));
      left -= take;
    }
    return { value, short: left > 0n };
  }

  function available(asset) {
    const b = account.balances[asset];
    return b ? b.available : "0";
  }

  /** 25/50/75/100 % of what the side can spend, fee reserve counted, on the step grid. */
  function fillPercent(pct) {
    const lotsToQty = (lots) => decText(lots * scaled(dec(STEP), QTY_PLACES), QTY_PLACES);
    let warn = "";
    if (form.side === "Ask") {
      const units = scaled(dec(available(BASE)), Math.max(BASE_DECIMALS, QTY_PLACES));
      const part = (units * pct) / 100n;
      const lots = part / scaled(dec(STEP), Math.max(BASE_DECIMALS, QTY_PLACES));
      $("order-quantity").value = lotsToQty(lots);
    } else {
      const budget = (scaled(dec(available(QUOTE)), QUOTE_DECIMALS) * pct) / 100n;
      if (buyByBudget()) {
        $("order-amount").value = decText(budget, QUOTE_DECIMALS);
      } else if (form.type === "Market") {
        if (!book.asks.size) warn = "No asks to buy from";
        else $("order-quantity").value = lotsToQty(walkAsksWithBudget(budget));
      } else {
        const price = $("order-price").value.trim();
        if (!dec(price) || isZero(price)) warn = "Enter a price first";
        else $("order-quantity").value = lotsToQty(affordable(lotCost(price), budget, MAX_FEE_BPS));
      }
    }
    form.warning = warn;
    updateHint();
  }

  /** Advice only: the order is sent whatever it says, and the server's answer is what counts. */
  function updateHint() {
    const node = $("order-hint");
    if (!node) return;
    const price = $("order-price").value.trim();
    const qty = $("order-quantity").value.trim();
    const amount = $("order-amount").value.trim();
    const notes = [];
    if (form.warning) notes.push({ warn: true, text: form.warning });
    const limit = form.type === "Limit";
    const spend = form.side === "Bid" ? QUOTE : BASE;
    const have = available(spend);
    if (limit && price) {
      if (!dec(price)) notes.push({ warn: true, text: "Price is not a decimal number" });
      else if (!isMultiple(price, TICK)) notes.push({ warn: true, text: `Price must be a multiple of ${TICK}` });
    }
    if (buyByBudget()) {
      if (amount && !dec(amount)) notes.push({ warn: true, text: "Amount is not a decimal number" });
      else if (amount) {
        notes.push({ text: `Buys what ${fmt(amount)} ${QUOTE} gets at market, taker fee included` });
        if (LOGGED_IN && decCmp(have, amount) < 0) notes.push({ warn: true, text: `Not enough ${QUOTE}: available ${fmt(have)}` });
      }
    } else if (qty) {
      if (!dec(qty)) notes.push({ warn: true, text: "Quantity is not a decimal number" });
      else if (!isMultiple(qty, STEP)) notes.push({ warn: true, text: `Quantity must be a multiple of ${STEP}` });
      else if (decCmp(qty, MIN_QTY) < 0) notes.push({ warn: true, text: `Minimum quantity is ${MIN_QTY} ${BASE}` });
    }
    const qtyOk = !buyByBudget() && dec(qty) && isMultiple(qty, STEP) && !isZero(qty);
    if (limit && qtyOk && dec(price) && isMultiple(price, TICK)) {
      const total = decMul(price, qty);
      notes.push({ text: `Total ${fmt(total)} ${QUOTE}` });
      // What the engine locks: a buy also holds the highest fee it could pay, a sell its quantity.
      let need = qty;
      if (form.side === "Bid") {
        const reserve = feeReserve(total);
        if (!isZero(reserve)) notes.push({ text: `+ up to ${fmt(reserve)} ${QUOTE} fee, held until filled` });
        need = decAdd(total, reserve);
      }
      if (LOGGED_IN && decCmp(have, need) < 0) notes.push({ warn: true, text: `Not enough ${spend}: this order needs ${fmt(need)}` });
    } else if (!limit && qtyOk) {
      const { asks, bids } = book.sorted();
      const { value, short } = walkBook(form.side === "Bid" ? asks : bids, qty);
      if (short) notes.push({ warn: true, text: `The book holds less than ${fmt(qty)} ${BASE}: the rest is cancelled` });
      if (!isZero(value)) notes.push({ text: `≈ ${fmt(value)} ${QUOTE} at today's book, before the fee` });
      if (LOGGED_IN && form.side === "Ask" && decCmp(have, qty) < 0) notes.push({ warn: true, text: `Not enough ${BASE}: available ${fmt(have)}` });
    }
    notes.push({ text: `Available ${fmt(have)} ${spend}` });
    if (!notes.some((n) => n.warn)) notes.unshift({ text: `Tick ${TICK} · step ${STEP}` });
    // Redrawn with every book change: touched only when it says something new (a live region).
    const key = JSON.stringify(notes);
    if (node.dataset.key === key) return;
    node.dataset.key = key;
    node.replaceChildren(...notes.map((n) => el("div", { class: n.warn ? "warn" : "" }, n.text)));
  }

  function showResult(kind, code, message) {
    const node = $("order-result");
    node.hidden = false;
    node.className = `order-result ${kind}`;
    node.querySelector(".code").textContent = code || "";
    node.querySelector(".msg").textContent = message;
  }

  async function submitOrder(ev) {
    ev.preventDefault();
    // Sent exactly as typed: the server parses the decimal strings.
    const body = { symbol: SYMBOL, side: form.side, orderType: form.type };
    if (buyByBudget()) body.quoteQuantity = $("order-amount").value.trim();
    else body.quantity = $("order-quantity").value.trim();
    if (form.type === "Limit") {
      body.price = $("order-price").value.trim();
      body.timeInForce = $("order-tif").value;
      if ($("order-post-only").checked) body.postOnly = true;
    }
    const trigger = $("order-trigger").value.trim();
    if (trigger) body.triggerPrice = trigger;
    const submit = $("order-submit");
    submit.disabled = true;
    showResult("pending", "", "Sending…");
    try {
      const order = await api("POST", "/api/v1/order", body);
      account.applyOrder(order);
      const filled = isZero(order.executedQuantity) ? "" : `, filled ${fmt(order.executedQuantity)} ${BASE}`;
      showResult("ok", "", `Order ${order.id} ${order.status}${filled}`);
    } catch (err) {
      showResult("error", err.code, err.message); // the server's message, verbatim
    } finally {
      submit.disabled = false;
    }
    scheduleAccountRender();
    account.afterAction();
  }

  function setupFaucet() {
    for (const b of document.querySelectorAll("button[data-faucet]")) {
      b.addEventListener("click", async () => {
        const asset = b.dataset.faucet;
        const quantity = asset === QUOTE ? "10000" : "10";
        b.disabled = true;
        try {
          await api("POST", "/api/v1/dev/faucet", { symbol: asset, quantity });
          setText("faucet-result", `Deposited ${quantity} ${asset}`);
        } catch (err) {
          setText("faucet-result", `${err.code}: ${err.message}`);
        } finally {
          b.disabled = false;
        }
        account.afterAction();
      });
    }
  }

  // --- start ----------------------------------------------------------------------------------

  function start() {
    setupTabs();
    setupBook();
    depth.setup();
    chart.init();
    $("market-select").addEventListener("change", (ev) => {
      location.href = ev.target.value;
    });
    for (const b of document.querySelectorAll("#interval-buttons button")) {
      b.addEventListener("click", () => chart.setInterval(b.dataset.interval));
    }

    stream.subscribe(`depth.${SYMBOL}`, (d) => book.onEvent(d));
    stream.subscribe(`trade.${SYMBOL}`, (d) => trades.onEvent(d));
    stream.subscribe(chart.streamName(), (d) => chart.onEvent(d));
    // Every market's ticker (this one first), within the per-connection stream limit.
    const room = MAX_STREAMS - 3 - (LOGGED_IN ? 2 : 0);
    const symbols = [SYMBOL, ...MARKETS.map((m) => m.symbol).filter((s) => s !== SYMBOL)].slice(0, room);
    for (const s of symbols) stream.subscribe(`ticker.${s}`, (d) => onTicker(s, tickerFromStream(d)));
    if (LOGGED_IN) account.subscribe();

    // Every (re)connection: snapshots again, after the subscriptions (events in between are
    // buffered by the book and the trades, and the depth sync notices any gap).
    stream.onOpen((reconnected) => {
      book.resync();
      trades.reload();
      chart.reload(false);
      loadTickers();
      if (LOGGED_IN) {
        account.refused = false;
        setTimeout(() => {
          account.load();
          if (reconnected && account.history.loaded && !$("history-pane").hidden) account.loadHistory();
        }, SUBSCRIBE_SETTLE_MS);
      }
      if (reconnected) notice(`Reconnected at ${clockTime(Date.now())}: book, trades, chart${LOGGED_IN ? " and your account" : ""} resynchronised.`);
      else notice("");
    });
    stream.connect();

    // Something to show before the socket opens (or if it never does).
    book.resync();
    trades.reload();
    chart.reload(true);
    loadTickers();

    const redraw = debounce(() => depth.draw(), 100);
    window.addEventListener("resize", redraw);
    if (window.ResizeObserver) new ResizeObserver(redraw).observe($("depth-canvas"));

    if (LOGGED_IN) {
      setupOrderForm();
      setupFaucet();
      setupAccount();
      // A socket that does not open soon: the account once by REST, so the page is not empty.
      setTimeout(() => {
        if (!account.loaded && !stream.live) account.load();
      }, 4000);
    }
  }

  start();
})();
