"""CPU time of the processes of a stack, read from /proc (Linux), for the load benchmarks.

The benchmarks share the machine's CPUs with the stack they measure, so "how much CPU did the
web processes spend per request" is a figure of its own, independent of how fast the machine
happened to be. Processes are found by what they are, not by name: the web server by the
listening socket of its port (uvicorn's supervisor and every worker process it started hold
it), Redis likewise, the engine and the worker by their command line and their ``REDIS_URL``
(several stacks can run on one machine).
"""

from __future__ import annotations

import os
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def proc_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds used: user + system, all threads)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS)
    return table


def tree_pids(roots: list[int], table: dict | None = None) -> list[int]:
    """``roots`` and all their descendants."""
    table = proc_table() if table is None else table
    pids, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        if pid in pids:
            continue
        pids.append(pid)
        todo.extend(p for p, (parent, _) in table.items() if parent == pid)
    return pids


def cpu_seconds(pids: list[int], table: dict | None = None) -> float:
    table = proc_table() if table is None else table
    return sum(table[p][1] for p in pids if p in table)


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(name).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(inode)
    return inodes


def listening_pids(port: int) -> list[int]:
    """The processes holding a socket that listens on ``port`` (any local address)."""
    wanted = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    found = []
    if not wanted:
        return found
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{entry}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{entry}/fd/{fd}") in wanted:
                    found.append(int(entry))
                    break
            except OSError:
                continue
    return found


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace")
    except OSError:
        return {}
    return dict(item.split("=", 1) for item in raw.split("\0") if "=" in item)


def pids_with(words: tuple[str, ...], redis_url: str) -> list[int]:
    """Top-level processes whose command line has every one of ``words`` and whose environment
    has this ``REDIS_URL`` (their children belong to them: use ``tree_pids``)."""
    table = proc_table()
    matched = {
        pid
        for pid in table
        if all(any(w in arg for arg in _cmdline(pid)) for w in words)
        and _environ(pid).get("REDIS_URL") == redis_url
    }
    return [pid for pid in matched if table[pid][0] not in matched]
