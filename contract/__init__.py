"""What the web, the engine process and the persistence worker agree on, and nothing else: how
engine integers are rendered for the wire (``wire``), the names they meet under in Redis and the
channel layer (``names``), the market-data cache the engine writes and the web reads
(``md_cache``), how stream frames are sent (``frames``), the persistence batch and its outbox
(``persist_batch``, ``persist_outbox``), the kline intervals (``intervals``) and fast JSON
(``jsonfast``).

No Django: any of the three processes can use it, and the engine core below it is all it
imports of the project.
"""
