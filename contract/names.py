"""The names that the web, the engine and the worker meet under: Redis keys and streams, pub/sub
and channel-layer names, Celery task names. Each is written by one process and read by another,
so it is defined once, here. The market-data cache's keys live with its readers and writers
(``contract.md_cache``); the engine's own bookkeeping keys (its lease, its log's hash) stay in
the engine.
"""

from __future__ import annotations

# --- the engine's input and its state, as the web sees them ------------------------------------

# The Redis stream the web appends commands to and the engine applies (``engine.commandlog``).
COMMAND_STREAM = "engine.commands"


def stream_key(stream_id: str) -> tuple[int, int]:
    """A stream id as a pair that sorts like the ids."""
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


# How many commands were ever appended to the log, counted by every append (``engine.client``);
# the engine's own count of the applied ones is in its metrics: the difference is its backlog.
APPENDED_KEY = "engine.commands.appended"
# The engine's heartbeat: JSON with its token, pid, last applied stream id and seq, and backlog.
# Written by every heartbeat flush with a short expiry; gone means the engine is down or stuck.
STATUS_KEY = "engine.status"
# Present (with the same expiry) only while the engine is up and not too far behind: the web
# appends a command only while it exists (``engine.client``), else answers 503 MAINTENANCE.
ACCEPTING_KEY = "engine.accepting"
# The engine's figures for the operators (``engine.metrics``), rendered by the web's /metrics.
ENGINE_METRICS_KEY = "engine.metrics"
# A reply list lives this long: a caller that gave up never reads it.
REPLY_TTL_S = 60

# --- who listens for private frames -------------------------------------------------------------

# Hash of account id -> number of live private subscriptions, kept by the websocket consumers.
# Private frames are rendered only for these accounts: most order events have no listener.
PRIVATE_SUBSCRIBERS_KEY = "streams.private_subscribers"
# A new random value whenever an account joins or leaves that hash (``streams.presence``): the
# engine asks for the hash's fields only when this changed, not after every read (with thousands
# of subscribers that would be thousands of fields a loop). Random, not a counter, so that a
# hash emptied and refilled (a FLUSHDB) cannot come back to a value the engine knows.
PRIVATE_SUBSCRIBERS_VERSION_KEY = "streams.private_subscribers.version"

# --- stream frames ------------------------------------------------------------------------------

# The channel-layer message that carries frames to the websocket consumers
# (``streams.consumers.StreamConsumer.stream_frames``). A public frame's group and pub/sub
# channel are its stream's name (``depth.SOL_USDC``); private frames go to an account's group.
CHANNEL_MESSAGE_TYPE = "stream.frames"
# The channel-layer message that closes the private streams resting on a credential that ended
# (``streams.credentials``).
CREDENTIAL_ENDED = "credential.ended"


def order_group(account: int) -> str:
    return f"account.orderUpdate.{account}"


def balance_group(account: int) -> str:
    return f"account.balanceUpdate.{account}"


# --- API keys -----------------------------------------------------------------------------------


def key_changed_channel(db: int) -> str:
    """The pub/sub channel announcing a change of an API key (its public key) or of any user
    ("*"), heard by every web process's key cache (``accounts.key_cache``). Pub/sub ignores the
    database number: the channel carries it, so exchanges sharing a Redis server do not hear
    each other."""
    return f"accounts.key_changed.{db}"


# --- persistence ---------------------------------------------------------------------------------

# The Celery tasks the engine sends by name (it never imports the worker's code).
PERSIST_TASK = "persistence.persist_events"
CLOSE_CANDLES_TASK = "persistence.close_candles"


def persist_outbox(database_name: str) -> str:
    """The persistence outbox of the database called ``database_name`` (its last path part:
    engines and workers of different databases sharing one Redis never take each other's
    batches). See ``contract.persist_outbox``."""
    return f"persist.outbox.{database_name.rsplit('/', 1)[-1]}"
