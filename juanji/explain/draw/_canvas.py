"""Drawing grids of numbers the way d2l's figures do: one square per cell with its value written
in, some cells highlighted, grids laid out in rows with ``*``, ``+`` and ``=`` between them.

A :class:`Canvas` collects rows of items (grids and symbols), places them in "cell units"
(one cell = one unit), and writes one PNG whose size follows the content (0.5 inch per cell).
Every value written into a cell is recorded, so tests can read the numbers a picture shows
instead of its pixels.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Canvas", "Diagram", "format_value"]

INCHES_PER_CELL = 0.5
HIGHLIGHT = "#7fc8f8"   # the window and the cell it makes
SECOND = "#ffb347"      # a second window (the next stride) and its cell
FADED = "#e6e6e6"       # padding, or cells a step does not touch
TITLE_SIZE = 11


def format_value(value) -> str:
    """A cell's text: integers without a decimal point, others with up to 3 significant digits."""
    value = float(value)
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.3g}"


@dataclass
class Diagram:
    """A written diagram: its path, the grids it shows (name -> values) and every cell text."""

    path: str
    grids: dict = field(default_factory=dict)
    texts: dict = field(default_factory=dict)     # name -> 2-d list of the strings written in its cells
    captions: list = field(default_factory=list)


@dataclass
class _Grid:
    name: str
    values: np.ndarray
    label: str
    highlight: set
    faded: set
    blank: set
    second: set


@dataclass
class _Symbol:
    text: str


class Canvas:
    """Rows of grids and symbols; :meth:`save` lays them out and writes the PNG."""

    def __init__(self, title: str = "") -> None:
        self.title = title
        self.rows: list[list] = [[]]
        self.captions: list[str] = []

    def grid(self, name: str, values, label: str = "", highlight=(), faded=(), blank=(), second=()) -> None:
        """A grid of ``values`` (2-d) labelled above; ``highlight`` / ``second`` / ``faded`` /
        ``blank`` are (row, column) cells to colour blue, orange, grey, or to leave empty."""
        array = np.asarray(values, dtype=np.float64)
        if array.ndim != 2:
            raise ValueError(f"draw: a grid is 2-d, got shape {list(array.shape)} for {name!r}")
        self.rows[-1].append(_Grid(name, array, label, set(map(tuple, highlight)), set(map(tuple, faded)),
                                   set(map(tuple, blank)), set(map(tuple, second))))

    def symbol(self, text: str) -> None:
        self.rows[-1].append(_Symbol(text))

    def new_row(self) -> None:
        self.rows.append([])

    def caption(self, text: str) -> None:
        self.captions.append(text)

    # ------------------------------------------------------------------ layout and drawing
    @staticmethod
    def _width(item) -> float:
        return item.values.shape[1] if isinstance(item, _Grid) else 1.2

    @staticmethod
    def _height(item) -> float:
        return item.values.shape[0] if isinstance(item, _Grid) else 1.0

    def save(self, path) -> Diagram:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Rectangle

        from ...checkpoint import atomic_write_bytes

        gap, label_room, row_gap = 0.6, 1.0, 0.8
        rows = [row for row in self.rows if row]
        widths = [sum(self._width(i) for i in row) + gap * (len(row) - 1) for row in rows]
        heights = [max(self._height(i) for i in row) + label_room for row in rows]
        # room for the title (bold 11 pt, about 0.25 cell a character) and captions (10 pt, 0.2)
        text_w = max([0.25 * len(self.title)] + [0.2 * len(c) for c in self.captions]) + 1.0
        total_w = max(max(widths) + 1.0, text_w)
        title_room = 1.0 if self.title else 0.3
        caption_room = 0.55 * len(self.captions) + (0.3 if self.captions else 0.0)
        total_h = sum(heights) + row_gap * (len(rows) - 1) + title_room + caption_room
        figure = Figure(figsize=(max(total_w, 6.0) * INCHES_PER_CELL, total_h * INCHES_PER_CELL), dpi=100)
        FigureCanvasAgg(figure)
        axes = figure.add_axes([0, 0, 1, 1])
        axes.set_xlim(0, max(total_w, 6.0))
        axes.set_ylim(total_h, 0)   # y grows downwards, like rows of a matrix
        axes.set_axis_off()
        diagram = Diagram(os.fspath(path), captions=list(self.captions))
        if self.title:
            axes.text(max(total_w, 6.0) / 2, 0.55, self.title, ha="center", va="center", fontsize=TITLE_SIZE,
                      weight="bold")
        top = title_room
        for row, row_width, row_height in zip(rows, widths, heights):
            x = (max(total_w, 6.0) - row_width) / 2
            middle = top + label_room + (row_height - label_room) / 2
            for item in row:
                if isinstance(item, _Symbol):
                    axes.text(x + self._width(item) / 2, middle, item.text, ha="center", va="center", fontsize=20)
                else:
                    y = middle - item.values.shape[0] / 2
                    diagram.grids[item.name] = item.values.copy()
                    diagram.texts[item.name] = self._draw_grid(axes, Rectangle, item, x, y)
                x += self._width(item) + gap
            top += row_height + row_gap
        for k, text in enumerate(self.captions):
            axes.text(max(total_w, 6.0) / 2, total_h - caption_room + 0.3 + 0.55 * k + 0.25, text,
                      ha="center", va="center", fontsize=10)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        folder = os.path.dirname(os.path.abspath(diagram.path))
        os.makedirs(folder, exist_ok=True)
        atomic_write_bytes(diagram.path, buffer.getvalue())
        return diagram

    @staticmethod
    def _draw_grid(axes, Rectangle, item: _Grid, x: float, y: float) -> list:
        rows, cols = item.values.shape
        fontsize = 11 if max(rows, cols) <= 6 else 8
        texts = []
        for i in range(rows):
            line = []
            for j in range(cols):
                colour = (HIGHLIGHT if (i, j) in item.highlight else SECOND if (i, j) in item.second
                          else FADED if (i, j) in item.faded else "white")
                axes.add_patch(Rectangle((x + j, y + i), 1, 1, facecolor=colour, edgecolor="black", linewidth=1))
                text = "" if (i, j) in item.blank else format_value(item.values[i, j])
                if text:
                    axes.text(x + j + 0.5, y + i + 0.5, text, ha="center", va="center", fontsize=fontsize)
                line.append(text)
            texts.append(line)
        if item.label:
            axes.text(x + cols / 2, y - 0.35, item.label, ha="center", va="bottom", fontsize=9)
        return texts
