"""Websocket consumer at ``/`` (the streams issue fills it in)."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class StreamConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        await self.accept()
