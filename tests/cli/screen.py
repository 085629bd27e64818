"""A tiny terminal emulator for the live-view tests: enough of VT100 for what rich's ``Live`` writes.

It keeps every line ever written (an endless scroll-back) and understands carriage return, line
feed, cursor up/down/forward/back, erase in line and SGR / mode sequences (ignored), so the final
"screen" is what a user would see after the command ends.
"""

from __future__ import annotations

import re

__all__ = ["render_screen", "strip_ansi"]

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
