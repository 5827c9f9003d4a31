"""The worker's part in taking a user's access away (``accounts.services.deactivate_user``)."""

from __future__ import annotations

from celery import shared_task
from django.contrib.auth import get_user_model

from . import services


@shared_task(name="accounts.cancel_open_orders", ignore_result=True, max_retries=20, bind=True)
def cancel_open_orders(self, user_id: int) -> int:
    """The second pass of a deactivation: cancel what a web process that had not yet seen it
    let through. Retried while the engine cannot be reached."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None or user.is_active:  # gone, or given access again meanwhile
        return 0
    try:
        return services.cancel_all_markets(user_id)
    except services.ApiError as exc:
        raise self.retry(exc=exc, countdown=5) from exc
