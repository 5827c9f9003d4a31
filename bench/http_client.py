"""A minimal asyncio HTTP/1.1 keep-alive client for the load benchmarks.

The load generators run on the same 2 CPUs as the server they measure, so the client's own CPU
per request decides how much is left for the server. httpx cost ~3.4 ms of CPU per signed
request here (its event loop was 90 % busy at 270 requests/s); this client costs a small
fraction of that: one write, one read of the head, one read of the body.
"""

from __future__ import annotations

import asyncio


class Connection:
    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(
        self, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        """One request on the open connection: ``(status, body)``."""
        head = [f"{method} {target} HTTP/1.1", f"Host: {self.host}", "Accept: application/json"]
        if headers:
            head.extend(f"{k}: {v}" for k, v in headers.items())
        if body or method in ("POST", "PUT", "PATCH", "DELETE"):
            head.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)}
        if "content-length" in fields:
            return status, await self.reader.readexactly(int(fields["content-length"]))
        if fields.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    return status, b"".join(parts)
                parts.append(chunk[:-2])
        raise RuntimeError(f"response without a length: {fields}")

    async def get(self, target: str) -> tuple[int, bytes]:
        return await self.request("GET", target)

    async def reopen(self) -> None:
        """Start over on a new connection (after a transport error or a timeout)."""
        self.close()
        await self.open()

    def close(self) -> None:
        if self.writer:
            self.writer.close()
