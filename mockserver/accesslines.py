"""Access log lines, formatted and written by a process of their own.

The command-line server keeps the facts of each request and hands them to this module's ``main`` a
batch at a time, marshalled through a pipe; ``main`` turns them into lines on the stderr both share.
Formatting was most of what the log cost the server; here it runs beside it. A batch may instead be
text the server made itself (lines its log filter had to mask), written as it comes, so lines keep
their order. Where no writer runs (it could not start, or stopped), the server formats with the same
``lines``. This module imports nothing but the standard library: the writer runs it as a script.
"""

from __future__ import annotations

import marshal
import os
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from typing import IO, Any

__all__ = ["Batch", "Facts", "access_line", "lines", "send", "start_writer"]

FRAME = struct.Struct("<I")  # the byte length of the marshalled batch that follows
# remote, method, path, HTTP major and minor version, status, body bytes, seconds
Facts = tuple[str | None, str, str, int, int, int, int, float]
Batch = list[tuple[Facts, float]]  # facts, and the time.time() they came


def access_line(
    remote: str | None, method: str, path: str, major: int, minor: int, status: int, length: int, seconds: float
) -> str:
    """The text of an access log line."""
    return f'{remote} "{method} {path} HTTP/{major}.{minor}" {status} {length} {seconds:.3f}'


def lines(batch: Batch, mask: Callable[[str], str] | None = None) -> str:
    """A batch as the log's formatter writes it (the start of a line made once a millisecond), each
    line passed through ``mask`` if given."""
    second, millisecond, moment, start, text = -1, -1, "", "", []
    for facts, now in batch:
        if int(now * 1000) != millisecond:
            millisecond = int(now * 1000)
            if millisecond // 1000 != second:
                second = millisecond // 1000
                moment = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            start = f"{moment},{millisecond % 1000:03d} mockserver.access "
        line = access_line(*facts)
        text.append(f"{start}{line if mask is None else mask(line)}\n")
    return "".join(text)


def start_writer() -> subprocess.Popen[bytes] | None:
    """The writer process, its stderr the server's; None if it cannot start."""
    try:
        return subprocess.Popen(
            [sys.executable, "-I", __file__],  # isolated: whatever path the server was imported from
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            close_fds=True,
            # out of the server's process group: Ctrl-C in a terminal is the server's to act on
            process_group=0 if os.name == "posix" else None,
        )
    except OSError:
        return None


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
