"""The account's private stream (order and balance updates), in Python with PyNaCl and
websockets.

    export API_KEY=... API_SECRET=...          # python manage.py create_api_key alice
    python examples/python/private_stream.py            # account.orderUpdate, account.balanceUpdate
    python examples/python/private_stream.py account.orderUpdate.SOL_USDC --count 1

Prints {"subscribed": [...]} once the subscription is sent, then each event as the server sends
it, one JSON line each: {"stream": ..., "data": {...}}. An error frame goes to stderr and exits
1; --count N exits after N events. WS_URL defaults to ws://127.0.0.1:8000/.
"""

import argparse
import asyncio
import base64
import json
import os
import sys
import time

import websockets
from nacl.signing import SigningKey

WS_URL = os.environ.get("WS_URL", "ws://127.0.0.1:8000/")


def subscription(streams):
    """A signed SUBSCRIBE frame: private streams sign instruction=subscribe with the time."""
    timestamp, window = int(time.time() * 1000), 5000
    message = f"instruction=subscribe&timestamp={timestamp}&window={window}"
    signature = SigningKey(base64.b64decode(os.environ["API_SECRET"])).sign(message.encode()).signature
    signed = [os.environ["API_KEY"], base64.b64encode(signature).decode(), str(timestamp), str(window)]
    return {"method": "SUBSCRIBE", "params": streams, "signature": signed}


async def main(streams, count):
    async with websockets.connect(WS_URL) as ws:  # answers the server's pings by itself
        await ws.send(json.dumps(subscription(streams)))
        print(json.dumps({"subscribed": streams}), flush=True)
        events = 0
        async for frame in ws:
            if "error" in json.loads(frame):
                print(frame, file=sys.stderr)
                return 1
            print(frame, flush=True)
            events += 1
            if events == count:
                return 0
    return 0  # the server closed the connection


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Print the account's private stream events.")
    parser.add_argument("streams", nargs="*", default=["account.orderUpdate", "account.balanceUpdate"])
    parser.add_argument("--count", type=int, help="exit after this many events")
    arguments = parser.parse_args()
    sys.exit(asyncio.run(main(arguments.streams, arguments.count)))
