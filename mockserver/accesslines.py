"""Access log lines, formatted and written by a process of their own.

The command-line server keeps the facts of each request and hands them to this module's ``main`` a
batch at a time, marshalled through a pipe; ``main`` turns them into lines on the stderr both share.
Formatting was most of what the log cost the server; here it runs beside it. A batch may instead be
text the server made itself (lines its log filter had to mask), written as it comes, so lines keep
their order. Where no writer runs (it could not start, or stopped), the server formats with the same
``lines``. This module imports nothing but the standard library: the writer runs it as a script.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from typing import IO, Any

__all__ = ["FIELDS", "Batch", "access_line", "lines", "paths", "send", "start_writer"]

PIPE_BYTES = 1 << 20  # the most Linux lets any user ask for (/proc/sys/fs/pipe-max-size)
FRAME = struct.Struct("<I")  # the byte length of the marshalled batch that follows
# of each line, the time.time() it came and its facts (``access_line``'s arguments), one line after another:
# kept so, a line costs the server one extend, and a batch is formatted in one operation
Batch = list[str | int | float | None]
FIELDS = 9  # of each line in a batch
LINE = '%s "%s %s HTTP/%d.%d" %d %d %.3f'
PREFIX = "%s mockserver.access "  # after the time


def access_line(
    remote: str | None, method: str, path: str, major: int, minor: int, status: int, length: int, seconds: float
) -> str:
    """The text of an access log line."""
    return LINE % (remote, method, path, major, minor, status, length, seconds)


def paths(batch: Batch) -> str:
    """The request paths of a batch's lines, joined."""
    return "".join(batch[3::FIELDS])  # type: ignore[arg-type]


def _starts(batch: Batch) -> list[str]:
    """The start of each line of a batch as the log's formatter writes it: the time, made once a millisecond."""
    second, millisecond, moment, start, starts = -1, -1, "", "", []
    for now in batch[::FIELDS]:
        assert isinstance(now, float)
        if int(now * 1000) != millisecond:
            millisecond = int(now * 1000)
            if millisecond // 1000 != second:
                second = millisecond // 1000
                moment = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            start = PREFIX % f"{moment},{millisecond % 1000:03d}"
        starts.append(start)
    return starts


def lines(batch: Batch, mask: Callable[[str], str] | None = None) -> str:
    """A batch as lines of the log, each line's text passed through ``mask`` if given."""
    starts = _starts(batch)
    if mask is not None:
        facts = zip(*(batch[field::FIELDS] for field in range(1, FIELDS)), strict=True)
        return "".join(f"{start}{mask(LINE % line)}\n" for start, line in zip(starts, facts, strict=True))
    text = batch.copy()
    text[::FIELDS] = starts
    return (f"%s{LINE}\n" * len(starts)) % tuple(text)


def start_writer() -> subprocess.Popen[bytes] | None:
    """The writer process, its stderr the server's; None if it cannot start."""
    try:
        writer = subprocess.Popen(
            [sys.executable, "-I", __file__],  # isolated: whatever path the server was imported from
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            close_fds=True,
            # out of the server's process group: Ctrl-C in a terminal is the server's to act on
            process_group=0 if os.name == "posix" else None,
        )
    except OSError:
        return None
    assert writer.stdin is not None
    with contextlib.suppress(ImportError, AttributeError, OSError):  # Linux only; else the pipe keeps its size
        import fcntl

        # room for several batches: the server hands one over without waiting for the writer to read it
        fcntl.fcntl(writer.stdin.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    return writer


def send(writer: subprocess.Popen[bytes], batch: Batch | str) -> bool:
    """Hand a batch (facts, or finished text) to the writer; False if it is gone."""
    assert writer.stdin is not None
    data = marshal.dumps(batch)
    try:
        writer.stdin.write(FRAME.pack(len(data)) + data)
        writer.stdin.flush()
    except (OSError, ValueError):  # a broken pipe; a closed one
        return False
    return True


def _read(source: IO[bytes], size: int) -> bytes | None:
    data = source.read(size)
    return data if len(data) == size else None


def main() -> None:
    """Write the batches that come on stdin to stderr until stdin ends: when the server closes it, or dies."""
    # signals are the server's to act on; its batches follow until it ends
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    source = sys.stdin.buffer
    while (header := _read(source, FRAME.size)) is not None:
        data = _read(source, FRAME.unpack(header)[0])
        if data is None:
            break
        batch: Any = marshal.loads(data)
        text = batch if isinstance(batch, str) else lines(batch)
        view = memoryview(text.encode("utf-8", "backslashreplace"))
        try:
            while view:
                view = view[os.write(2, view) :]
        except OSError:  # stderr is gone: nothing more can be written
            return


if __name__ == "__main__":
    main()
