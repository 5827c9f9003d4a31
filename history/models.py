"""Where the database stands in the engine's history: one row per persistence batch.

The engine's state is the second thing the database can give back (besides the history
itself): ``history.state`` rebuilds it at any checkpoint the database holds every batch up to.
A row says which events its batch held (``from_seq < seq <= seq``: every persisted event in that
range, written in the same transaction as the row) and, when the batch ended where a command
ended, the engine's position there (``stream_id``) and the counters the events do not carry
(``state``: the last order id, and the books' trade and depth update ids and the asset and
market definitions that changed since the engine's previous checkpoint). Rows are written once
per range, like the events: a batch written twice, or a replay's batches overlapping the first
run's, change nothing.

A ``base`` row holds the whole state at its seq, the rows before it folded in (``compact``).
"""

from __future__ import annotations

from django.db import models


class Checkpoint(models.Model):
    from_seq = models.BigIntegerField()
    seq = models.BigIntegerField(help_text="the batch held every persisted event with from_seq < seq <= this")
    stream_id = models.CharField(
        max_length=32, blank=True, help_text="the last command applied at seq; empty when seq is mid-command"
    )
    state = models.JSONField(null=True, blank=True)
    base = models.BooleanField(default=False)
    written_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["from_seq", "seq"], name="checkpoint_range")]

    def __str__(self) -> str:
        return f"checkpoint ({self.from_seq}, {self.seq}]"
