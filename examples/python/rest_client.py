"""A signed request to the exchange's private REST API, in Python with PyNaCl.

    export API_KEY=... API_SECRET=...          # python manage.py create_api_key alice
    python examples/python/rest_client.py GET /api/v1/capital
    python examples/python/rest_client.py POST /api/v1/order \\
        '{"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "100", "quantity": "1"}'
    python examples/python/rest_client.py GET /api/v1/orders '{"symbol": "SOL_USDC"}'
    python examples/python/rest_client.py DELETE /api/v1/order '{"symbol": "SOL_USDC", "orderId": "1"}'

The JSON argument is the body, or for a GET the query string. Prints the JSON answer; on an HTTP
error prints its {"code", "message"} to stderr and exits 1. API_URL defaults to
http://127.0.0.1:8000.
"""

import base64
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from nacl.signing import SigningKey

API_URL = os.environ.get("API_URL", "http://127.0.0.1:8000")

# Each operation is signed with its own instruction (the schema's x-signing-instruction).
INSTRUCTIONS = {
    ("GET", "/api/v1/account"): "accountQuery",
    ("GET", "/api/v1/capital"): "balanceQuery",
    ("GET", "/api/v1/order"): "orderQuery",
    ("POST", "/api/v1/order"): "orderExecute",
    ("DELETE", "/api/v1/order"): "orderCancel",
    ("GET", "/api/v1/orders"): "orderQueryAll",
    ("POST", "/api/v1/orders"): "orderExecute",
    ("DELETE", "/api/v1/orders"): "orderCancelAll",
    ("GET", "/wapi/v1/history/orders"): "orderHistoryQueryAll",
    ("GET", "/wapi/v1/history/fills"): "fillHistoryQueryAll",
}


def text(value):
    """A value as it is signed: booleans as true/false, everything else as written."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def signing_string(instruction, params, timestamp, window):
    """instruction=<i>&<k=v sorted by key>&timestamp=<ts>&window=<w>. A batch of orders (a list)
    repeats instruction=<i>&<k=v...>& for each order, then the timestamp and window."""
    orders = params if isinstance(params, list) else [params]
    pairs = ("".join(f"&{k}={text(v)}" for k, v in sorted(order.items())) for order in orders)
    return "".join(f"instruction={instruction}{p}&" for p in pairs) + f"timestamp={timestamp}&window={window}"


def request(method, path, params=None):
    params = params or {}
    timestamp, window = int(time.time() * 1000), 5000
    instruction = INSTRUCTIONS.get((method, path))
    if instruction is None:  # the schema (GET /api/schema) names each one's x-signing-instruction
        sys.exit(f"{method} {path}: not in INSTRUCTIONS; add its x-signing-instruction from /api/schema")
    message = signing_string(instruction, params, timestamp, window)
    secret = SigningKey(base64.b64decode(os.environ["API_SECRET"]))
    headers = {
        "X-API-Key": os.environ["API_KEY"],
        "X-Timestamp": str(timestamp),
        "X-Window": str(window),
        "X-Signature": base64.b64encode(secret.sign(message.encode()).signature).decode(),
    }
    url, body = API_URL + path, None
    if method == "GET":
        if params:
            url += "?" + urllib.parse.urlencode({k: text(v) for k, v in params.items()})
    else:
        body = json.dumps(params).encode()
        headers["Content-Type"] = "application/json"
    call = urllib.request.Request(url, body, headers, method=method)
    with urllib.request.urlopen(call, timeout=10) as answer:
        return json.load(answer)


if __name__ == "__main__":
    method, path = sys.argv[1].upper(), sys.argv[2]
    try:
        print(json.dumps(request(method, path, json.loads(sys.argv[3]) if len(sys.argv) > 3 else None)))
    except urllib.error.HTTPError as error:
        print(error.read().decode(), file=sys.stderr)
        sys.exit(1)
