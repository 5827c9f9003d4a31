// A signed request to the exchange's private REST API, in Node.js (18+) with its built-in
// Ed25519 (node:crypto) and fetch: no dependency.
//
//   export API_KEY=... API_SECRET=...          # python manage.py create_api_key alice
//   node examples/node/rest_client.js GET /api/v1/capital
//   node examples/node/rest_client.js POST /api/v1/order \
//       '{"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "100", "quantity": "1"}'
//   node examples/node/rest_client.js GET /api/v1/orders '{"symbol": "SOL_USDC"}'
//   node examples/node/rest_client.js DELETE /api/v1/order '{"symbol": "SOL_USDC", "orderId": "1"}'
//
// The JSON argument is the body, or for a GET the query string. Prints the JSON answer; on an
// HTTP error prints its {"code", "message"} to stderr and exits 1. API_URL defaults to
// http://127.0.0.1:8000.
"use strict";

const crypto = require("node:crypto");

const API_URL = process.env.API_URL || "http://127.0.0.1:8000";

// Each operation is signed with its own instruction (the schema's x-signing-instruction).
const INSTRUCTIONS = {
  "GET /api/v1/account": "accountQuery",
  "GET /api/v1/capital": "balanceQuery",
  "GET /api/v1/order": "orderQuery",
  "POST /api/v1/order": "orderExecute",
  "DELETE /api/v1/order": "orderCancel",
  "GET /api/v1/orders": "orderQueryAll",
  "POST /api/v1/orders": "orderExecute",
  "DELETE /api/v1/orders": "orderCancelAll",
  "GET /wapi/v1/history/orders": "orderHistoryQueryAll",
  "GET /wapi/v1/history/fills": "fillHistoryQueryAll",
};

// instruction=<i>&<k=v sorted by key>&timestamp=<ts>&window=<w>. A batch of orders (an array)
// repeats instruction=<i>&<k=v...>& for each order, then the timestamp and window.
function signingString(instruction, params, timestamp, window) {
  const orders = Array.isArray(params) ? params : [params];
  const signed = orders.map((order) => {
    const pairs = Object.keys(order).sort().map((key) => `&${key}=${order[key]}`);
    return `instruction=${instruction}${pairs.join("")}&`;
  });
  return `${signed.join("")}timestamp=${timestamp}&window=${window}`;
}

// Node takes an Ed25519 key as a JWK: the secret seed is `d`, the API key (public) is `x`.
function signingKey() {
  const base64url = (text) => Buffer.from(text, "base64").toString("base64url");
  const jwk = { kty: "OKP", crv: "Ed25519", d: base64url(process.env.API_SECRET), x: base64url(process.env.API_KEY) };
  return crypto.createPrivateKey({ key: jwk, format: "jwk" });
}

async function request(method, path, params = {}) {
  const timestamp = Date.now();
  const window = 5000;
  const instruction = INSTRUCTIONS[`${method} ${path}`];
  if (instruction === undefined) {
    // the schema (GET /api/schema) names each operation's x-signing-instruction
    throw new Error(`${method} ${path}: not in INSTRUCTIONS; add its x-signing-instruction from /api/schema`);
  }
  const message = signingString(instruction, params, timestamp, window);
  const headers = {
    "X-API-Key": process.env.API_KEY,
    "X-Timestamp": String(timestamp),
    "X-Window": String(window),
    "X-Signature": crypto.sign(null, Buffer.from(message), signingKey()).toString("base64"),
  };
  let url = API_URL + path;
  let body;
  if (method === "GET") {
    const query = new URLSearchParams(params).toString();
    if (query) url += `?${query}`;
  } else {
    body = JSON.stringify(params);
    headers["Content-Type"] = "application/json";
  }
  const answer = await fetch(url, { method, headers, body });
  const text = await answer.text();
  if (!answer.ok) throw new Error(text);
  return JSON.parse(text);
}

const [method, path, json] = process.argv.slice(2);
request(method.toUpperCase(), path, json ? JSON.parse(json) : {}).then(
  (result) => console.log(JSON.stringify(result)),
  (error) => {
    console.error(error.message);
    process.exit(1);
  },
);
