/* The trading page (templates/markets/trade.html).
 *
 * Public market data: REST snapshots (/api/v1/depth, /trades, /klines, /ticker, /tickers) kept
 * live by the websocket at "/" (depth.<sym>, trade.<sym>, ticker.<sym>, kline.<iv>.<sym>).
 * Private data: the REST API with the session cookie and the CSRF token, refreshed after every
 * action and every few seconds (the private websocket streams need an API-key signature, which a
 * browser session does not have).
 *
 * Money is a decimal string from the server to the server: what the user typed is sent as typed,
 * and exact arithmetic (totals, spread, tick checks) uses BigInt-scaled integers. JS numbers are
 * used only to draw (bar widths, chart coordinates, a percentage shown to one decimal).
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
  const MAX_FEE_BPS = BigInt(Math.max(Number(page.dataset.makerFeeBps || 0), Number(page.dataset.takerFeeBps || 0)));
  const QUOTE_DECIMALS = Number(page.dataset.quoteDecimals || 0);
  const CSRF = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  const BOOK_ROWS = 12; // price levels shown per side
  const TRADES_SHOWN = 60;
  const ACCOUNT_REFRESH_MS = 3000;
  const TICKERS_REFRESH_MS = 10000;

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

  function scaled(d, s) {
    return d.n * 10n ** BigInt(s - d.s);
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
  const PLACES = Object.fromEntries(
    MARKETS.map((m) => [m.symbol, [placesOf(m.filters.price.tickSize), placesOf(m.filters.quantity.stepSize)]]),
  );
  const fmtPriceOf = (symbol, t) => fmt(t, (PLACES[symbol] || [])[0]);
  const fmtQtyOf = (symbol, t) => fmt(t, (PLACES[symbol] || [])[1]);

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

  function pad2(n) {
    return String(n).padStart(2, "0");
  }

  /** A history timestamp (naive ISO in UTC, as the API writes them) in the viewer's time zone,
   * like the trades' times: "2026-11-25T15:52:38.123" -> "2026-11-25 07:52:38" in Los Angeles. */
  function localDateTime(iso) {
    const d = new Date(`${iso}Z`);
    if (Number.isNaN(d.getTime())) return String(iso);
    const date = `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
    return `${date} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  }

  function clockTime(ms) {
    const d = new Date(ms);
    return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  }

  /** "2025-07-19 13:09:00" or "2025-08-06T22:00:00" (UTC, no zone) -> ms. */
  function utcMs(text) {
    return Date.parse(text.replace(" ", "T") + "Z");
  }

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

  const stream = {
    ws: null,
    handlers: new Map(), // stream name -> handler(data)
    openListeners: [],
    backoffMs: 500,
    nextId: 1,

    connect() {
      const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/";
      const ws = new WebSocket(url);
      this.ws = ws;
      setStatus("connecting", "connecting…");
      ws.addEventListener("open", () => {
        this.backoffMs = 500;
        setStatus("live", "live");
        this.send("SUBSCRIBE", [...this.handlers.keys()]);
        // Subscribed first, then every component reloads its snapshot: nothing falls between.
        this.openListeners.forEach((fn) => fn());
      });
      ws.addEventListener("message", (ev) => {
        let frame;
        try {
          frame = JSON.parse(ev.data);
        } catch (err) {
          return;
        }
        if (frame.error) {
          console.warn("stream error", frame.error);
          return;
        }
        const handler = this.handlers.get(frame.stream);
        if (handler) handler(frame.data);
      });
      ws.addEventListener("close", () => {
        if (this.ws !== ws) return;
        setStatus("down", "reconnecting…");
        setTimeout(() => this.connect(), this.backoffMs);
        this.backoffMs = Math.min(this.backoffMs * 2, 8000);
      });
    },

    send(method, params) {
      if (params.length && this.ws && this.ws.readyState === WebSocket.OPEN) {
        this.ws.send(JSON.stringify({ method, params, id: this.nextId++ }));
      }
    },

    subscribe(name, handler) {
      this.handlers.set(name, handler);
      this.send("SUBSCRIBE", [name]);
    },

    unsubscribe(name) {
      if (this.handlers.delete(name)) this.send("UNSUBSCRIBE", [name]);
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

  // --- order book -----------------------------------------------------------------------------
  // The documented sync: buffer depth events, fetch the REST snapshot, drop events with
  // u <= lastUpdateId, apply the rest; each event's U must be the previous u + 1 (the first may
  // straddle the snapshot). A gap means an event was lost: fetch a new snapshot.

  const book = {
    bids: new Map(), // canonical price -> quantity
    asks: new Map(),
    lastId: null, // null while a snapshot is loading (events are buffered)
    synced: false,
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

  let renderPending = false;
  function scheduleRender() {
    if (renderPending) return;
    renderPending = true;
    requestAnimationFrame(() => {
      renderPending = false;
      renderBook();
      drawDepth();
    });
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

  function renderBook() {
    const { asks, bids } = book.sorted();
    const askRows = bookRows(asks, "ask").reverse(); // highest on top, best ask next to the spread
    $("book-asks").replaceChildren(...askRows);
    $("book-bids").replaceChildren(...bookRows(bids, "bid"));
    const spread = $("book-spread");
    if (asks.length && bids.length) {
      const diff = decSub(asks[0][0], bids[0][0]);
      spread.textContent = `Spread ${fmtPrice(diff)}`;
    } else {
      spread.textContent = asks.length || bids.length ? "One-sided book" : "No orders yet";
    }
  }

  function setupBookClicks() {
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
  }

  // --- canvases -------------------------------------------------------------------------------

  const COLORS = {
    bid: "#1fbf75",
    ask: "#f0515d",
    grid: "#262a33",
    text: "#8b93a1",
    bg: "#171a21",
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

  function emptyMessage(ctx, w, h, text) {
    ctx.fillStyle = COLORS.text;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(text, w / 2, h / 2);
  }

  /** Round-ish axis steps for [lo, hi] (display only), counted in whole ticks of `tick`: a
   * step finer than the tick would label a range of a few ticks with the same price repeated. */
  function niceTicks(lo, hi, count, tick) {
    const span = hi - lo || Math.abs(hi) || 1;
    const rawTicks = Math.max(1, span / tick / count);
    const mag = 10 ** Math.floor(Math.log10(rawTicks));
    const factors = mag >= 10 ? [1, 2, 2.5, 5, 10] : [1, 2, 5, 10]; // 2.5 ticks is no price
    const step = (factors.map((m) => m * mag).find((s) => s >= rawTicks) || rawTicks) * tick;
    const ticks = [];
    for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) ticks.push(k * step);
    return ticks;
  }

  function axisLabel(v) {
    return v.toLocaleString(undefined, { maximumFractionDigits: PRICE_PLACES, minimumFractionDigits: 0 });
  }

  // --- depth chart ----------------------------------------------------------------------------

  function drawDepth() {
    const canvas = $("depth-canvas");
    if (!canvas) return;
    const { ctx, w, h } = prepare(canvas);
    const { asks, bids } = book.sorted();
    if (!asks.length && !bids.length) {
      emptyMessage(ctx, w, h, "No orders in the book");
      return;
    }
    const cumulate = (levels) => {
      let sum = 0;
      return levels.map(([px, qty]) => [Number(px), (sum += Number(qty))]);
    };
    let b = cumulate(bids);
    let a = cumulate(asks);
    // Centre on the mid price and show the same distance either side.
    const bestBid = b.length ? b[0][0] : null;
    const bestAsk = a.length ? a[0][0] : null;
    const mid = bestBid !== null && bestAsk !== null ? (bestBid + bestAsk) / 2 : (bestBid ?? bestAsk);
    const farBid = b.length ? mid - b[b.length - 1][0] : 0;
    const farAsk = a.length ? a[a.length - 1][0] - mid : 0;
    const half = Math.max(Math.min(Math.max(farBid, farAsk), mid * 0.2), mid * 0.002, 1e-9);
    b = b.filter(([px]) => px >= mid - half);
    a = a.filter(([px]) => px <= mid + half);
    const maxQty = Math.max(b.length ? b[b.length - 1][1] : 0, a.length ? a[a.length - 1][1] : 0) || 1;

    const pad = { l: 8, r: 8, t: 10, b: 18 };
    const pw = w - pad.l - pad.r;
    const ph = h - pad.t - pad.b;
    const x = (px) => pad.l + ((px - (mid - half)) / (2 * half)) * pw;
    const y = (qty) => pad.t + ph - (qty / maxQty) * ph;

    const area = (points, color, towardLeft) => {
      if (!points.length) return;
      ctx.beginPath();
      ctx.moveTo(x(points[0][0]), y(0));
      let prevY = y(0);
      for (const [px, cum] of points) {
        ctx.lineTo(x(px), prevY);
        ctx.lineTo(x(px), y(cum));
        prevY = y(cum);
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
    ctx.fillText(`max ${maxQty.toLocaleString(undefined, { maximumFractionDigits: QTY_PLACES })} ${BASE}`, pad.l, pad.t + 2);
  }

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
        if (generation === this.generation) setTimeout(() => this.reload(), 3000);
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

  // --- 24 h ticker ----------------------------------------------------------------------------

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
    const row = document.querySelector(`#markets-table tr[data-market="${SYMBOL}"]`);
    if (row) fillMarketRow(row, t, MARKET);
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

  async function loadTicker() {
    try {
      showTicker(tickerFromRest(await api("GET", `/api/v1/ticker?symbol=${q(SYMBOL)}`)));
    } catch (err) {
      /* the stream or the next reload fills it in */
    }
  }

  function fillMarketRow(row, t, market) {
    const traded = t.trades !== "0" && !isZero(t.last);
    const places = market ? placesOf(market.filters.price.tickSize) : undefined;
    row.querySelector(".last").textContent = traded ? fmt(t.last, places) : "–";
    const change = row.querySelector(".change");
    const diff = traded ? decSub(t.last, t.first) : "0";
    change.textContent = traded ? percent(diff, t.first) : "–";
    change.className = "num change " + (diff.startsWith("-") ? "down" : isZero(diff) ? "" : "up");
    row.querySelector(".volume").textContent = fmt(t.quoteVolume, 2);
  }

  async function loadTickers() {
    try {
      const all = await api("GET", "/api/v1/tickers");
      for (const r of all) {
        const row = document.querySelector(`#markets-table tr[data-market="${CSS.escape(r.symbol)}"]`);
        const market = MARKETS.find((m) => m.symbol === r.symbol);
        if (row && r.symbol !== SYMBOL) fillMarketRow(row, tickerFromRest(r), market);
      }
    } catch (err) {
      /* try again at the next tick */
    }
  }

  // --- candlestick chart ----------------------------------------------------------------------

  const INTERVAL_S = { "1m": 60, "5m": 300, "1h": 3600, "1d": 86400 };
  const CANDLES_LOADED = 300;

  const chart = {
    interval: "1m",
    candles: [], // ascending by start ms: {t, o, h, l, c, v}
    generation: 0,

    streamName() {
      return `kline.${this.interval}.${SYMBOL}`;
    },

    setInterval(interval) {
      if (interval === this.interval) return;
      stream.unsubscribe(this.streamName());
      this.interval = interval;
      this.candles = [];
      stream.subscribe(this.streamName(), (d) => this.onEvent(d));
      for (const b of document.querySelectorAll("#interval-buttons button")) {
        b.classList.toggle("active", b.dataset.interval === interval);
        b.setAttribute("aria-pressed", String(b.dataset.interval === interval));
      }
      this.reload();
    },

    async reload() {
      const generation = ++this.generation;
      const start = Math.floor(Date.now() / 1000) - INTERVAL_S[this.interval] * CANDLES_LOADED;
      let rows;
      try {
        rows = await api("GET", `/api/v1/klines?symbol=${q(SYMBOL)}&interval=${this.interval}&startTime=${start}`);
      } catch (err) {
        if (generation === this.generation) setTimeout(() => generation === this.generation && this.reload(), 3000);
        return;
      }
      if (generation !== this.generation) return;
      const live = this.candles; // stream updates that arrived while loading win over older REST rows
      this.candles = rows.map((r) => ({ t: utcMs(r.start), o: r.open, h: r.high, l: r.low, c: r.close, v: r.volume }));
      for (const c of live) this.upsert(c);
      this.draw();
    },

    onEvent(d) {
      if (d.s !== SYMBOL) return;
      this.upsert({ t: utcMs(d.t), o: d.o, h: d.h, l: d.l, c: d.c, v: d.v });
      this.draw();
    },

    upsert(c) {
      const list = this.candles;
      let i = list.length - 1;
      while (i >= 0 && list[i].t > c.t) i--;
      if (i >= 0 && list[i].t === c.t) list[i] = c;
      else list.splice(i + 1, 0, c);
    },

    draw() {
      const canvas = $("kline-canvas");
      const { ctx, w, h } = prepare(canvas);
      const pad = { l: 8, r: 70, t: 12, b: 22 };
      const pw = w - pad.l - pad.r;
      const slot = 9; // px per candle
      const shown = this.candles.slice(-Math.max(1, Math.floor(pw / slot)));
      const last = shown[shown.length - 1];
      setText(
        "kline-legend",
        last ? `O ${fmtPrice(last.o)}  H ${fmtPrice(last.h)}  L ${fmtPrice(last.l)}  C ${fmtPrice(last.c)}  V ${fmtQty(last.v)}` : "",
      );
      if (!shown.length) {
        canvas.setAttribute("aria-label", "Candlestick chart, no trades in this period yet");
        emptyMessage(ctx, w, h, "No trades in this period yet");
        return;
      }
      const volH = (h - pad.t - pad.b) * 0.18;
      const ph = h - pad.t - pad.b - volH - 6;
      let lo = Math.min(...shown.map((c) => Number(c.l)));
      let hi = Math.max(...shown.map((c) => Number(c.h)));
      if (hi === lo) {
        const d = Math.max(hi * 0.001, Number(TICK));
        hi += d;
        lo -= d;
      }
      const maxVol = Math.max(...shown.map((c) => Number(c.v))) || 1;
      const y = (v) => pad.t + ((hi - v) / (hi - lo)) * ph;
      const x = (i) => pad.l + pw - (shown.length - i) * slot + slot / 2;

      // Grid and price axis.
      ctx.strokeStyle = COLORS.grid;
      ctx.fillStyle = COLORS.text;
      ctx.lineWidth = 1;
      ctx.textAlign = "left";
      ctx.textBaseline = "middle";
      const axis = niceTicks(lo, hi, 5, Number(TICK)).map((v) => [v, axisLabel(v)]);
      for (const [v, label] of axis) {
        const yy = Math.round(y(v)) + 0.5;
        ctx.beginPath();
        ctx.moveTo(pad.l, yy);
        ctx.lineTo(pad.l + pw, yy);
        ctx.stroke();
        ctx.fillText(label, pad.l + pw + 6, yy);
      }
      // What the canvas shows, for screen readers (and the page's tests).
      canvas.setAttribute("aria-label", `Candlestick chart, price axis ${axis.map(([, l]) => l).join(", ")}`);
      // Time axis: a label every ~100 px.
      ctx.textAlign = "center";
      ctx.textBaseline = "alphabetic";
      const every = Math.max(1, Math.round(100 / slot));
      shown.forEach((c, i) => {
        if ((shown.length - 1 - i) % every !== 0) return;
        const d = new Date(c.t);
        const label =
          // A day's candle is the UTC day it covers; intraday times are the viewer's.
          this.interval === "1d" ? `${d.getUTCMonth() + 1}/${d.getUTCDate()}` : `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
        ctx.fillText(label, x(i), h - 6);
      });

      // Candles and volume.
      const body = Math.max(1, slot - 3);
      shown.forEach((c, i) => {
        const up = Number(c.c) >= Number(c.o);
        ctx.fillStyle = ctx.strokeStyle = up ? COLORS.bid : COLORS.ask;
        const cx = Math.round(x(i)) + 0.5;
        ctx.beginPath();
        ctx.moveTo(cx, y(Number(c.h)));
        ctx.lineTo(cx, y(Number(c.l)));
        ctx.stroke();
        const top = y(Math.max(Number(c.o), Number(c.c)));
        const bottom = y(Math.min(Number(c.o), Number(c.c)));
        ctx.fillRect(cx - body / 2, top, body, Math.max(1, bottom - top));
        const vh = (Number(c.v) / maxVol) * volH;
        ctx.globalAlpha = 0.35;
        ctx.fillRect(cx - body / 2, h - pad.b - vh, body, vh);
        ctx.globalAlpha = 1;
      });

      // Last close: a dashed line with its label on the axis.
      const lastY = y(Number(last.c));
      ctx.setLineDash([3, 3]);
      ctx.strokeStyle = COLORS.text;
      ctx.beginPath();
      ctx.moveTo(pad.l, lastY);
      ctx.lineTo(pad.l + pw, lastY);
      ctx.stroke();
      ctx.setLineDash([]);
      const up = Number(last.c) >= Number(last.o);
      ctx.fillStyle = up ? COLORS.bid : COLORS.ask;
      ctx.fillRect(pad.l + pw + 2, lastY - 8, pad.r - 4, 16);
      ctx.fillStyle = "#fff";
      ctx.textAlign = "left";
      ctx.textBaseline = "middle";
      ctx.fillText(fmtPrice(last.c), pad.l + pw + 6, lastY);
    },
  };

  // --- tabs -----------------------------------------------------------------------------------

  function setupTabs() {
    for (const bar of document.querySelectorAll(".tabs")) {
      bar.addEventListener("click", (ev) => {
        const tab = ev.target.closest(".tab");
        if (!tab) return;
        for (const other of bar.querySelectorAll(".tab")) {
          other.classList.toggle("active", other === tab);
          other.setAttribute("aria-selected", String(other === tab));
          const pane = $(other.dataset.tab);
          if (pane) pane.hidden = other !== tab;
        }
      });
    }
  }

  // --- private: balances, open orders, fills --------------------------------------------------

  const account = {
    refreshing: null,
    again: false,

    /** One refresh at a time; a request during one runs once more right after it. */
    refresh() {
      if (this.refreshing) {
        this.again = true;
        return this.refreshing;
      }
      this.refreshing = this.load().finally(() => {
        this.refreshing = null;
        if (this.again) {
          this.again = false;
          this.refresh();
        }
      });
      return this.refreshing;
    },

    async load() {
      const results = await Promise.allSettled([
        api("GET", "/api/v1/capital").then(renderBalances),
        api("GET", "/api/v1/orders").then(renderOrders),
        api("GET", "/wapi/v1/history/fills?limit=50").then(renderFills),
      ]);
      const failed = results.find((r) => r.status === "rejected");
      if (!failed) setText("account-status", "");
      else if (failed.reason.status === 401 || failed.reason.status === 403)
        setText("account-status", "Your session has ended: log in again.");
      else setText("account-status", `Could not refresh: ${failed.reason.message}`);
    },
  };

  let balances = {};

  function renderBalances(data) {
    balances = data;
    for (const row of document.querySelectorAll("[data-balance]")) {
      const b = data[row.dataset.balance] || { available: "0", locked: "0" };
      row.querySelector(".available").textContent = fmt(b.available);
      row.querySelector(".locked").textContent = fmt(b.locked);
    }
    const assets = Object.keys(data).sort();
    $("balances-body").replaceChildren(
      ...(assets.length
        ? assets.map((a) =>
            el(
              "tr",
              { dataset: { asset: a } },
              el("td", {}, a),
              el("td", { class: "num available" }, fmt(data[a].available)),
              el("td", { class: "num locked" }, fmt(data[a].locked)),
            ),
          )
        : [el("tr", { class: "empty" }, el("td", { colspan: 3 }, "No balances yet"))]),
    );
    updateHint();
  }

  function sideCell(side) {
    return el("td", { class: side === "Bid" ? "up" : "down" }, side === "Bid" ? "Buy" : "Sell");
  }

  function renderOrders(orders) {
    setText("open-count", orders.length ? `(${orders.length})` : "");
    const body = $("orders-body");
    if (!orders.length) {
      body.replaceChildren(el("tr", { class: "empty" }, el("td", { colspan: 8 }, "No open orders")));
      return;
    }
    body.replaceChildren(
      ...orders.map((o) =>
        el(
          "tr",
          { dataset: { orderId: o.id, symbol: o.symbol }, class: o.symbol === SYMBOL ? "" : "other-market" },
          el("td", {}, el("a", { href: `/trade/${encodeURIComponent(o.symbol)}` }, o.symbol)),
          sideCell(o.side),
          el("td", {}, o.orderType),
          el("td", { class: "num price" }, o.price === null ? "Market" : fmtPriceOf(o.symbol, o.price)),
          el("td", { class: "num quantity" }, fmtQtyOf(o.symbol, o.quantity)),
          el("td", { class: "num filled" }, fmtQtyOf(o.symbol, o.executedQuantity)),
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
      ),
    );
  }

  function renderFills(fills) {
    const body = $("fills-body");
    if (!fills.length) {
      body.replaceChildren(el("tr", { class: "empty" }, el("td", { colspan: 7 }, "No fills yet")));
      return;
    }
    body.replaceChildren(
      ...fills.map((f) =>
        el(
          "tr",
          { dataset: { tradeId: f.tradeId, symbol: f.symbol } },
          el("td", {}, localDateTime(f.timestamp)),
          el("td", {}, f.symbol),
          sideCell(f.side),
          el("td", { class: "num" }, fmtPriceOf(f.symbol, f.price)),
          el("td", { class: "num" }, fmtQtyOf(f.symbol, f.quantity)),
          el("td", { class: "num" }, `${fmt(f.fee)} ${f.feeSymbol}`),
          el("td", {}, f.isMaker ? "Maker" : "Taker"),
        ),
      ),
    );
  }

  async function cancelOrder(order) {
    setText("action-result", `Cancelling order ${order.id}…`);
    try {
      await api("DELETE", "/api/v1/order", { symbol: order.symbol, orderId: order.id });
      setText("action-result", `Order ${order.id} cancelled`);
    } catch (err) {
      // Filled or cancelled since the list was drawn: not an error the user made.
      const gone = err.code === "RESOURCE_NOT_FOUND";
      setText("action-result", gone ? `Order ${order.id} is no longer open (filled or cancelled)` : `${err.code}: ${err.message}`);
    }
    await account.refresh();
  }

  // --- order form -----------------------------------------------------------------------------

  const form = { side: "Bid", type: "Limit" };

  function setupOrderForm() {
    const node = $("order-form");
    if (!node) return;
    for (const b of node.querySelectorAll("[data-side]")) {
      b.addEventListener("click", () => {
        form.side = b.dataset.side;
        node.querySelectorAll("[data-side]").forEach((o) => pressed(o, o === b));
        updateForm();
      });
    }
    for (const b of node.querySelectorAll("[data-type]")) {
      b.addEventListener("click", () => {
        form.type = b.dataset.type;
        node.querySelectorAll("[data-type]").forEach((o) => pressed(o, o === b));
        updateForm();
      });
    }
    $("order-price").addEventListener("input", updateHint);
    $("order-quantity").addEventListener("input", updateHint);
    node.addEventListener("submit", submitOrder);
    updateForm();
  }

  function updateForm() {
    const limit = form.type === "Limit";
    $("price-field").hidden = !limit;
    $("limit-options").hidden = !limit;
    const submit = $("order-submit");
    submit.textContent = `${form.side === "Bid" ? "Buy" : "Sell"} ${BASE}${limit ? "" : " at market"}`;
    submit.className = `submit ${form.side === "Bid" ? "buy" : "sell"}`;
    updateHint();
  }

  /** Advice only: the order is sent whatever it says, and the server's answer is what counts. */
  function updateHint() {
    const node = $("order-hint");
    if (!node) return;
    const price = $("order-price").value.trim();
    const qty = $("order-quantity").value.trim();
    const notes = [];
    const limit = form.type === "Limit";
    if (limit && price) {
      if (!dec(price)) notes.push({ warn: true, text: "Price is not a decimal number" });
      else if (!isMultiple(price, TICK)) notes.push({ warn: true, text: `Price must be a multiple of ${TICK}` });
    }
    if (qty) {
      if (!dec(qty)) notes.push({ warn: true, text: "Quantity is not a decimal number" });
      else if (!isMultiple(qty, STEP)) notes.push({ warn: true, text: `Quantity must be a multiple of ${STEP}` });
      else if (decCmp(qty, MIN_QTY) < 0) notes.push({ warn: true, text: `Minimum quantity is ${MIN_QTY} ${BASE}` });
    }
    const spend = form.side === "Bid" ? QUOTE : BASE;
    const bal = balances[spend];
    const onGrid = limit && dec(price) && dec(qty) && isMultiple(price, TICK) && isMultiple(qty, STEP);
    if (onGrid) {
      const total = decMul(price, qty);
      notes.push({ text: `Total ${fmt(total)} ${QUOTE}` });
      // What the engine locks: a buy also holds the highest fee it could pay, a sell its quantity.
      let need = qty;
      if (form.side === "Bid") {
        const reserve = feeReserve(total);
        if (!isZero(reserve)) notes.push({ text: `+ up to ${fmt(reserve)} ${QUOTE} fee, held until filled` });
        need = decAdd(total, reserve);
      }
      if (LOGGED_IN && decCmp(bal ? bal.available : "0", need) < 0) {
        notes.push({ warn: true, text: `Not enough ${spend}: this order needs ${fmt(need)}` });
      }
    }
    notes.push({ text: `Available ${bal ? fmt(bal.available) : "0"} ${spend}` });
    if (!notes.some((n) => n.warn)) notes.unshift({ text: `Tick ${TICK} · step ${STEP}` });
    node.replaceChildren(...notes.map((n) => el("div", { class: n.warn ? "warn" : "" }, n.text)));
  }

  /** The fee a buy of `total` holds back, as the engine computes it: the larger of the two fee
   * rates, rounded down to the quote asset's smallest unit. */
  function feeReserve(total) {
    const d = dec(total);
    const units = d.s <= QUOTE_DECIMALS ? scaled(d, QUOTE_DECIMALS) : d.n / 10n ** BigInt(d.s - QUOTE_DECIMALS);
    return decText((units * MAX_FEE_BPS) / 10000n, QUOTE_DECIMALS);
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
    const body = { symbol: SYMBOL, side: form.side, orderType: form.type, quantity: $("order-quantity").value.trim() };
    if (form.type === "Limit") {
      body.price = $("order-price").value.trim();
      body.timeInForce = $("order-tif").value;
      if ($("order-post-only").checked) body.postOnly = true;
    }
    const submit = $("order-submit");
    submit.disabled = true;
    showResult("pending", "", "Sending…");
    try {
      const order = await api("POST", "/api/v1/order", body);
      const filled = isZero(order.executedQuantity) ? "" : `, filled ${fmt(order.executedQuantity)} ${BASE}`;
      showResult("ok", "", `Order ${order.id} ${order.status}${filled}`);
    } catch (err) {
      showResult("error", err.code, err.message); // the server's message, verbatim
    } finally {
      submit.disabled = false;
    }
    await account.refresh();
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
        await account.refresh();
      });
    }
  }

  // --- start ----------------------------------------------------------------------------------

  function start() {
    setupTabs();
    setupBookClicks();
    $("market-select").addEventListener("change", (ev) => {
      location.href = ev.target.value;
    });
    for (const b of document.querySelectorAll("#interval-buttons button")) {
      b.addEventListener("click", () => chart.setInterval(b.dataset.interval));
    }

    stream.subscribe(`depth.${SYMBOL}`, (d) => book.onEvent(d));
    stream.subscribe(`trade.${SYMBOL}`, (d) => trades.onEvent(d));
    stream.subscribe(`ticker.${SYMBOL}`, (d) => showTicker(tickerFromStream(d)));
    stream.subscribe(chart.streamName(), (d) => chart.onEvent(d));
    // Every (re)connection: snapshots again, after the subscriptions (events in between are
    // buffered by the book and the trades, and the depth sync notices any gap).
    stream.onOpen(() => {
      book.resync();
      trades.reload();
      chart.reload();
      loadTicker();
    });
    stream.connect();

    // Something to show before the socket opens (or if it never does).
    book.resync();
    trades.reload();
    chart.reload();
    loadTicker();
    loadTickers();
    setInterval(loadTickers, TICKERS_REFRESH_MS);

    const redraw = debounce(() => {
      chart.draw();
      drawDepth();
    }, 100);
    window.addEventListener("resize", redraw);
    if (window.ResizeObserver) {
      const ro = new ResizeObserver(redraw);
      ro.observe($("kline-canvas"));
      ro.observe($("depth-canvas"));
    }

    if (LOGGED_IN) {
      setupOrderForm();
      setupFaucet();
      account.refresh();
      setInterval(() => {
        if (!document.hidden) account.refresh();
      }, ACCOUNT_REFRESH_MS);
    }
  }

  start();
})();
