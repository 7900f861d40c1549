"""Keeping the clients of `serve --workers N` spread evenly over its worker processes.

The workers share one listening socket, and the first to wake accepts every waiting connection,
so clients that connect together all stay with one worker while the others idle. Each worker
posts how many clients it is serving on a shared board (a small file per process, mapped in
memory); a busy worker (another request in flight) serving two more clients than the least busy
one closes the connection it is answering, and the client, reconnecting, is accepted by a worker
waiting in its event loop.

Closing only on such a gap, not whenever a worker is busy, matters: 8 clients on 2 workers over
100,000 articles were otherwise reconnecting for 9 requests in 10, and the search page's p95 was
68-69 ms against 54-56 with the board (interleaved runs, no ingest beside).
"""

from __future__ import annotations

import mmap
import os
import secrets
import struct
import time
from pathlib import Path
from typing import Any

BOARD_VARIABLE = "STORYLINE_SERVE_BOARD"  # the board's folder, for worker processes (`serve --workers`)
ACTIVE_S = 0.5  # a client that asked within this long is being served; a post this old means none
RESCAN_S = 1.0  # how often a worker looks for workers that started or stopped
GAP = 2  # clients more than the least busy worker's from which a worker sheds one
# Clients counted, and when (time.monotonic: one clock for every process of the machine).
_POST = struct.Struct("qd")


def _alive(pid: int) -> bool:
    """Whether a process still runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's: it runs
        return True
    return True


class Board:
    """Each worker's count of the clients it serves: one small shared file per worker process."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        # The pid says whether a post's worker still runs; the token keeps two boards of one process apart.
        self.path = folder / f"{os.getpid()}.{secrets.token_hex(4)}"
        self.path.write_bytes(bytes(_POST.size))
        with self.path.open("r+b") as fh:
            self._mine = mmap.mmap(fh.fileno(), _POST.size)
        self._others: dict[Path, mmap.mmap] = {}
        self._scanned = float("-inf")

    def post(self, clients: int, now: float) -> None:
        """Tell the other workers how many clients this one serves."""
        _POST.pack_into(self._mine, 0, clients, now)

    def _rescan(self) -> None:
        """Read the posts of workers that started; forget (and clear away) those that stopped."""
        for path in self.folder.iterdir():
            if path == self.path or path in self._others:
                continue
            try:
                with path.open("rb") as fh:
                    self._others[path] = mmap.mmap(fh.fileno(), _POST.size, prot=mmap.PROT_READ)
            except (OSError, ValueError):  # gone meanwhile, or not yet written
                continue
        for path in list(self._others):
            if not _alive(int(path.name.split(".")[0])):
                self._others.pop(path).close()
                path.unlink(missing_ok=True)

    def others(self, now: float) -> list[int]:
        """The clients each other running worker serves (0 for one that answered nobody lately)."""
        if now - self._scanned > RESCAN_S:
            self._scanned = now
            self._rescan()
        counts = []
        for board in self._others.values():
            clients, when = _POST.unpack_from(board, 0)
            counts.append(clients if now - when <= ACTIVE_S else 0)
        return counts

    def close(self) -> None:
        """Leave the board."""
        for board in self._others.values():
            board.close()
        self._others.clear()
        self._mine.close()
        self.path.unlink(missing_ok=True)


class Balancer:
    """Which answers of this worker close their connection, so that clients move to a less busy worker."""

    def __init__(self, board: Board) -> None:
        self.board = board
        self.seen: dict[Any, float] = {}  # client address -> when it last asked

    def arrived(self, client: Any) -> None:
        """Note a request from a client (its address: one per connection)."""
        self.seen[client] = time.monotonic()

    def _serving(self, now: float) -> int:
        """Clients that asked lately (forgetting the others once there are many)."""
        since = now - ACTIVE_S
        if len(self.seen) > 64:
            self.seen = {c: t for c, t in self.seen.items() if t >= since}
        return sum(1 for t in self.seen.values() if t >= since)

    def shed(self, client: Any, busy: bool = True) -> bool:
        """Whether the answer to this client should close its connection (only when `busy`); posts this worker's count."""
        now = time.monotonic()
        serving = self._serving(now)
        others = self.board.others(now)
        close = busy and bool(others) and serving >= min(others) + GAP
        if close:
            self.seen.pop(client, None)
            serving -= 1
        self.board.post(serving, now)
        return close

    def close(self) -> None:
        """Leave the board."""
        self.board.close()
