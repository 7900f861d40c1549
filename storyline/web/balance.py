"""Keeping the clients of `serve --workers N` spread evenly over its worker processes.

The workers share one listening socket, and the first to wake accepts every waiting connection,
so clients that connect together all stay with one worker while the others idle. Each worker
posts how many clients it is serving on a shared board (a small file per process, mapped in
memory); a busy worker (another request in flight) serving two more clients than the least busy
one closes the connection it is answering, and the client, reconnecting, is accepted by a worker
waiting in its event loop.

Closing only on such a gap, not whenever a worker is busy, matters: under that rule 8 clients on
2 workers over 100,000 articles reconnected for 9 requests in 10, and the search page's p95 was
71.0-73.8 ms against 50.5-56.3 with the board (interleaved runs, no ingest beside).
"""

from __future__ import annotations

import asyncio
import logging
import mmap
import os
import re
import secrets
import struct
import time
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no board, every worker keeps the clients it accepted
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("storyline.web")

BOARD_VARIABLE = "STORYLINE_SERVE_BOARD"  # the board's folder, for worker processes (`serve --workers`)
ACTIVE_S = 0.5  # a client that asked within this long is being served; a post this old means none
RESCAN_S = 1.0  # how often a worker looks for workers that started or stopped
GAP = 2  # clients more than the least busy worker's from which a busy worker sheds one
# Clients counted, and when (time.monotonic: one clock for every process of the machine).
_POST = struct.Struct("qd")
_NAME = re.compile(r"\d+\.[0-9a-f]{8}")  # <pid>.<token>: the board's own files only


def supported() -> bool:
    """Whether this platform has what the board needs (file locks)."""
    return fcntl is not None


def _now() -> float:
    """The shared clock (a function of its own, so tests can move it without moving asyncio's)."""
    return time.monotonic()


class Board:
    """Each worker's count of the clients it serves: one small shared file per worker process.

    A worker holds a lock on its own file while it runs; a file nobody holds a lock on belongs
    to a worker that stopped (its pid may already be another process's), and is cleared away.
    """

    def __init__(self, folder: Path) -> None:
        assert fcntl is not None, "the serving board needs file locks (POSIX)"
        self.folder = folder
        # The token keeps two boards of one process (tests) apart.
        self.path = folder / f"{os.getpid()}.{secrets.token_hex(4)}"
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(self._fd, bytes(_POST.size))
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        self._mine = mmap.mmap(self._fd, _POST.size)
        self._others: dict[Path, tuple[int, mmap.mmap]] = {}
        self._scanned = float("-inf")

    def post(self, clients: int, now: float) -> None:
        """Tell the other workers how many clients this one serves."""
        _POST.pack_into(self._mine, 0, clients, now)

    @staticmethod
    def _stopped(fd: int) -> bool:
        """Whether the worker whose file this is has stopped (nobody holds its lock)."""
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True

    def _forget(self, path: Path) -> None:
        """Stop reading a stopped worker's post, and clear its file away."""
        fd, board = self._others.pop(path)
        board.close()
        os.close(fd)
        path.unlink(missing_ok=True)

    def _rescan(self) -> None:
        """Read the posts of workers that started; forget those that stopped."""
        for path in self.folder.iterdir():
            if path == self.path or path in self._others or not _NAME.fullmatch(path.name):
                continue
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:  # gone meanwhile
                continue
            try:
                self._others[path] = (fd, mmap.mmap(fd, _POST.size, access=mmap.ACCESS_READ))
            except (OSError, ValueError):  # not written yet
                os.close(fd)
        for path, (fd, _) in list(self._others.items()):
            if self._stopped(fd):
                self._forget(path)

    def others(self, now: float) -> list[int]:
        """The clients each other running worker serves (0 for one that posted nothing lately)."""
        if now - self._scanned > RESCAN_S:
            self._scanned = now
            try:
                self._rescan()
            except OSError as exc:  # the folder went away (shutting down): balance with what is known
                log.debug("serving board unreadable", extra={"error": str(exc)})
        counts = []
        for _, board in self._others.values():
            clients, when = _POST.unpack_from(board, 0)
            counts.append(clients if now - when <= ACTIVE_S else 0)
        return counts

    def close(self) -> None:
        """Leave the board."""
        for path in list(self._others):
            fd, board = self._others.pop(path)
            board.close()
            os.close(fd)
        self._mine.close()
        self.path.unlink(missing_ok=True)
        os.close(self._fd)


class Balancer:
    """Which answers of this worker close their connection, so that clients move to a less busy worker."""

    def __init__(self, board: Board) -> None:
        self.board = board
        self.seen: dict[Any, float] = {}  # client address (one per connection) -> when it last asked
        self.waiting: dict[Any, int] = {}  # client address -> its requests in flight here
        self.in_flight = 0  # requests of this process being answered (only the event loop's thread counts)

    def arrived(self, client: Any) -> None:
        """Note a request from a client, and post the count at once: a client that moved here must
        count here before the worker it left looks again, or that one sheds more than it should."""
        now = _now()
        self.seen[client] = now
        self.waiting[client] = self.waiting.get(client, 0) + 1
        self.in_flight += 1
        self.board.post(self.serving(now), now)

    def answered(self, client: Any) -> None:
        """Note that a request from a client was answered (sent, though the app may still tidy up), or failed."""
        self.in_flight -= 1
        left = self.waiting.get(client, 0) - 1
        if left > 0:
            self.waiting[client] = left
        else:
            self.waiting.pop(client, None)

    def serving(self, now: float) -> int:
        """Clients with a request here now or lately (forgetting the others once there are many)."""
        since = now - ACTIVE_S
        if len(self.seen) > 64:
            self.seen = {c: t for c, t in self.seen.items() if t >= since or c in self.waiting}
        # A client waiting on a slow request counts however long ago it asked.
        return sum(1 for c, t in self.seen.items() if t >= since or c in self.waiting)

    def shed(self, client: Any) -> bool:
        """Whether the answer to this client should close its connection; posts this worker's count.

        A lone client (nothing else in flight here) is never moved, however many connections it opened.
        """
        now = _now()
        serving = self.serving(now)
        others = self.board.others(now)
        close = self.in_flight > 1 and bool(others) and serving >= min(others) + GAP
        if close:
            self.seen.pop(client, None)
            serving -= 1
        self.board.post(serving, now)
        return close

    async def keep_posting(self) -> None:
        """Post the count even while no answer goes out (all threads on slow requests), until cancelled."""
        while True:
            await asyncio.sleep(ACTIVE_S / 2)
            now = _now()
            self.board.post(self.serving(now), now)

    def close(self) -> None:
        """Leave the board."""
        self.board.close()
