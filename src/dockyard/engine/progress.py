"""Docker's pull / push progress output (the CLI's jsonmessage rendering).

On a terminal every layer owns a line that is rewritten in place (cursor up, erase,
write, cursor down), with a ``[====>   ] 1.2MB/4.5MB`` bar while bytes move. Elsewhere
only status changes are printed, one line each; byte counts are left out, as docker does.
"""

from __future__ import annotations

import shutil
import sys
import time
from typing import TextIO

_BAR_WIDTH = 50
_MIN_BAR_TERMINAL = 110  # docker draws the bar only on terminals wider than this
_THROTTLE = 0.1  # seconds between two redraws of one layer's bar
_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")


def human_size(size: float) -> str:
    """docker's units.HumanSize: decimal units, 4 significant digits (``2.01MB``)."""
    unit = 0
    while size >= 1000 and unit < len(_UNITS) - 1:
        size /= 1000
        unit += 1
    return f"{size:.4g}{_UNITS[unit]}"


def progress_text(current: int, total: int, width: int) -> str:
    """``[=====>     ]  1.2MB/4.5MB`` as docker's JSONProgress.String() draws it."""
    if total <= 0:
        return f"{human_size(current):>8}"
    bar = ""
    if width > _MIN_BAR_TERMINAL:
        filled = min(int(current / total * 100) // 2, _BAR_WIDTH)
        bar = f"[{'=' * filled}>{' ' * (_BAR_WIDTH - filled)}] "
    if current > total:
        return f"{bar}{human_size(current):>8}"
    return f"{bar}{human_size(current):>8}/{human_size(total)}"


class ProgressOutput:
    """Per-layer lines (``<id>: <status>``) and plain lines, on a terminal or not."""

    def __init__(self, out: TextIO | None = None, tty: bool | None = None,
                 quiet: bool = False) -> None:
        self.out = out or sys.stdout
        self.tty = self.out.isatty() if tty is None else tty
        self.quiet = quiet
        self._lines: dict[str, int] = {}
        self._last_draw: dict[str, float] = {}
        self._status: dict[str, str] = {}

    def line(self, text: str) -> None:
        """A line of its own; later layer lines start a fresh block below it."""
        if self.quiet:
            return
        self._lines.clear()
        self.out.write(text + "\n")
        self.out.flush()

    def status(self, layer: str, status: str) -> None:
        """A layer's new state (``Waiting``, ``Pull complete`` ...)."""
        self._status[layer] = status
        if self.quiet:
            return
        if not self.tty:
            self.out.write(f"{layer}: {status}\n")
            self.out.flush()
            return
        self._draw(layer, status)

    def busy(self, layer: str, status: str) -> None:
        """A state docker shows with a bar (``Extracting``): on a terminal only."""
        if not self.quiet and self.tty:
            self._draw(layer, status)

    def progress(self, layer: str, status: str, current: int, total: int) -> None:
        """Bytes moved for a layer; drawn on a terminal only, at most every 100 ms."""
        if self.quiet or not self.tty:
            return
        now = time.monotonic()
        if current < total and now - self._last_draw.get(layer, 0.0) < _THROTTLE:
            return
        self._last_draw[layer] = now
        width = shutil.get_terminal_size((80, 24)).columns
        self._draw(layer, f"{status} {progress_text(current, total, width)}")

    def _draw(self, layer: str, text: str) -> None:
        if layer not in self._lines:
            self._lines[layer] = len(self._lines)
            self.out.write("\n")
        up = len(self._lines) - self._lines[layer]
        self.out.write(f"\x1b[{up}A\x1b[2K\r{layer}: {text}\r\x1b[{up}B")
        self.out.flush()
