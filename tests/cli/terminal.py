"""Terminals for the live-view tests: a pseudo-terminal to run the command in, and a tiny emulator
(enough of VT100 for what rich's ``Live`` writes) to see the final screen.

The emulator keeps every line ever written (an endless scroll-back) and understands carriage return, line
feed, cursor up/down/forward/back, erase in line and SGR / mode sequences (ignored), so the final
"screen" is what a user would see after the command ends.
"""

from __future__ import annotations

import os
import re
import select
import signal
import struct
import sys
import time

from tests.cli.conftest import cli_env

__all__ = ["collect", "render_screen", "spawn", "strip_ansi"]

_ESCAPE = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])|\x1b\][^\x07]*\x07|\x1b[()][0-9A-Za-z]")


def strip_ansi(text: str) -> str:
    """``text`` without escape sequences."""
    return _ESCAPE.sub("", text)


def render_screen(data: str) -> list[str]:
    """The lines on screen (trailing spaces stripped, trailing blank lines dropped) after ``data``."""
    lines: list[list[str]] = [[]]
    row = col = 0
    position = 0
    while position < len(data):
        match = _ESCAPE.match(data, position)
        if match is not None:
            position = match.end()
            params, command = match.group(1) or "", match.group(2)
            count = int(params) if params.isdigit() else 1
            if command == "A":
                row = max(row - count, 0)
            elif command == "B":
                row += count
            elif command == "C":
                col += count
            elif command == "D":
                col = max(col - count, 0)
            elif command == "G":
                col = count - 1
            elif command == "K":
                while len(lines) <= row:
                    lines.append([])
                if params in ("2", "1"):
                    lines[row] = [" "] * col if params == "1" else []
                else:
                    del lines[row][col:]
            continue
        char = data[position]
        position += 1
        if char == "\r":
            col = 0
        elif char == "\n":  # the terminal driver's onlcr: a line feed also returns the carriage
            row += 1
            col = 0
        elif char == "\b":
            col = max(col - 1, 0)
        elif char >= " ":
            while len(lines) <= row:
                lines.append([])
            line = lines[row]
            line.extend(" " * (col - len(line)))
            if col < len(line):
                line[col] = char
            else:
                line.append(char)
            col += 1
    text = ["".join(line).rstrip() for line in lines]
    while text and not text[-1]:
        text.pop()
    return text


def spawn(args: list[str], *, rows: int = 24, columns: int = 60) -> tuple[int, int]:
    """Start ``python -m modelplug ARGS`` in a new pseudo-terminal of ``rows`` x ``columns``;
    return ``(pid, master fd)``. POSIX only."""
    import fcntl
    import pty
    import termios

    pid, fd = pty.fork()
    if pid == 0:  # the child, in a terminal of rows x columns
        try:
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # not an ignored one inherited from a background parent
            fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
            env = cli_env(TERM="xterm-256color")
            for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
                env.pop(name, None)
            os.execve(sys.executable, [sys.executable, "-m", "modelplug", *args], env)
        finally:
            os._exit(127)
    return pid, fd


def collect(pid: int, fd: int, *, interrupt_after: bytes | None = None, timeout: float = 60) -> tuple[int, str]:
    """Read the terminal until the child ends; type Ctrl-C once ``interrupt_after`` has appeared.
    Return ``(exit status, everything written)``."""
    data = b""
    sent = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if interrupt_after is not None and not sent and interrupt_after in data:
            os.write(fd, b"\x03")  # Ctrl-C, delivered by the terminal as SIGINT
            sent = True
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            data += chunk
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), data.decode("utf-8", "replace")
