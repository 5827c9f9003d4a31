"""The demo market simulator (``python manage.py simulate_market``).

Bots with accounts of their own quote a ladder around a mid price that follows a random walk and
take liquidity now and then, so a demo exchange has a deep book and a steady trickle of trades.
They trade through the signed REST API exactly as an outside client does (``client``), within
its rate limits; only their accounts, API keys and deposits are made in-process (``runner``),
deposits through the engine as ``manage.py deposit`` makes them. ``quoting`` is the pure part:
the walk, the ladder and the difference between the orders a bot has and the ones it wants.

No models: this package is not a Django app.
"""
