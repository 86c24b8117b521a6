"""The channel an import's worker process sends each file's resources down, a chunk at a time.

The pool carries each result as one message, which the receiving process holds twice while
it unpickles it (the message, and the bytes made of it), and which the worker holds whole
beside the pickle it made it from: at 500k resources the writer's peak RSS was while a 16 MB
file's result arrived. Down this pipe each chunk (~1,000 resources, ~1-2 MB: `_SEND_EVERY` in
import_prepare) goes as soon as it is pickled; a thread of the importing process reads it at
once, so the worker never waits long, and keeps it until the writer takes its file.
"""

from __future__ import annotations

import contextlib
import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext


class ChunkChannel:
    """The importing process's end: `sender` goes to the worker when it starts (closed here
    once it has, with `sender_given`); a thread reads what arrives until the worker's end
    closes (the worker has exited)."""

    def __init__(self, context: BaseContext) -> None:
        self._receiver, self.sender = context.Pipe(duplex=False)
        _widen(self.sender)
        self._chunks: deque[bytes] = deque()
        self._changed = threading.Condition()
        self._ended = False
        self._dropped = False
        self._thread = threading.Thread(target=self._read, name="phr-import-chunks", daemon=True)
        self._thread.start()

    def sender_given(self) -> None:
        """The worker holds its own copy of the sending end: close ours, so that the reading
        thread sees the end of the pipe when the worker exits."""
        self.sender.close()

    def _read(self) -> None:
        try:
            while True:
                chunk = self._receiver.recv_bytes()
                with self._changed:
                    if not self._dropped:
                        self._chunks.append(chunk)
                    del chunk
                    self._changed.notify_all()
        except (EOFError, OSError):  # the worker has exited (or was killed)
            pass
        finally:
            self._receiver.close()
            with self._changed:
                self._ended = True
                self._changed.notify_all()

    def take(self, count: int) -> Iterator[bytes]:
        """The next `count` chunks, in the order sent, waiting for those still on the way.
        BrokenProcessPool if the worker's end closes first."""
        for _ in range(count):
            with self._changed:
                while not self._chunks and not self._ended:
                    self._changed.wait()
                if not self._chunks:
                    raise BrokenProcessPool("the import's worker stopped part way through a file")
                chunk = self._chunks.popleft()
            yield chunk
            del chunk

    def drop(self) -> None:
        """Let go of whatever arrived and will arrive (the worker is being stopped): the thread
        reads on until the worker exits, so that a worker still sending is never stuck."""
        with self._changed:
            self._dropped = True
            self._chunks.clear()
        if not self.sender.closed:
            self.sender.close()


# A chunk's pickle is ~1-2 MB; Linux's pipes hold 64 KiB unless widened (any process may ask
# for up to /proc/sys/fs/pipe-max-size, 1 MiB by default). The reading thread needs the GIL
# after each read, which the writer's thread holds between its SQL, so the worker would
# otherwise wait for it every 64 KiB.
_PIPE_BYTES = 2**20


def _widen(sender: Connection) -> None:
    """Let the pipe hold a chunk or most of one (Linux only; elsewhere it stays as it is)."""
    try:
        import fcntl
    except ImportError:  # Windows
        return
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is not None:
        with contextlib.suppress(OSError):  # beyond the system's pipe-max-size
            fcntl.fcntl(sender.fileno(), set_size, _PIPE_BYTES)
