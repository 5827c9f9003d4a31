// The account's private stream (order and balance updates), in Node.js with its built-in
// Ed25519 (node:crypto) and the `ws` package (npm ci installs it; Node 22+ also has a built-in
// WebSocket).
//
//   export API_KEY=... API_SECRET=...          # python manage.py create_api_key alice
//   node examples/node/private_stream.js            # account.orderUpdate, account.balanceUpdate
//   node examples/node/private_stream.js account.orderUpdate.SOL_USDC --count 1
//
// Prints {"subscribed": [...]} once the subscription is sent, then each event as the server
// sends it, one JSON line each: {"stream": ..., "data": {...}}. An error frame goes to stderr
// and exits 1; --count N exits after N events. WS_URL defaults to ws://127.0.0.1:8000/.
"use strict";

const crypto = require("node:crypto");
const WebSocket = require("ws");

const WS_URL = process.env.WS_URL || "ws://127.0.0.1:8000/";

// Node takes an Ed25519 key as a JWK: the secret seed is `d`, the API key (public) is `x`.
function signingKey() {
  const base64url = (text) => Buffer.from(text, "base64").toString("base64url");
  const jwk = { kty: "OKP", crv: "Ed25519", d: base64url(process.env.API_SECRET), x: base64url(process.env.API_KEY) };
  return crypto.createPrivateKey({ key: jwk, format: "jwk" });
}

// A signed SUBSCRIBE frame: private streams sign instruction=subscribe with the time.
function subscription(streams) {
  const timestamp = Date.now();
  const window = 5000;
  const message = `instruction=subscribe&timestamp=${timestamp}&window=${window}`;
  const signature = crypto.sign(null, Buffer.from(message), signingKey()).toString("base64");
  return { method: "SUBSCRIBE", params: streams, signature: [process.env.API_KEY, signature, String(timestamp), String(window)] };
}

const args = process.argv.slice(2);
const countAt = args.indexOf("--count");
const count = countAt >= 0 ? Number(args.splice(countAt, 2)[1]) : Infinity;
const streams = args.length ? args : ["account.orderUpdate", "account.balanceUpdate"];

const ws = new WebSocket(WS_URL); // answers the server's pings by itself
let events = 0;
ws.on("open", () => {
  ws.send(JSON.stringify(subscription(streams)));
  console.log(JSON.stringify({ subscribed: streams }));
});
ws.on("message", (frame) => {
  const text = frame.toString();
  if ("error" in JSON.parse(text)) {
    console.error(text);
    process.exit(1);
  }
  console.log(text);
  if (++events === count) ws.close();
});
ws.on("error", (error) => {
  console.error(error.message);
  process.exit(1);
});
