"""The confusion matrix of an evaluation: counts, per-class accuracy, a printed table and a PNG.

``matrix[t, p]`` counts the images of true class ``t`` that the model put in class ``p``; the
diagonal holds the correct ones, so class ``t``'s accuracy (its recall) is
``matrix[t, t] / matrix[t].sum()``.

    >>> import numpy as np
    >>> from juanji.training.confusion import confusion_matrix, per_class_accuracy
    >>> m = confusion_matrix(np.array([0, 0, 1, 1, 1]), np.array([0, 1, 1, 1, 0]), 2)
    >>> m.tolist()
    [[1, 1], [1, 2]]
    >>> per_class_accuracy(m).round(3).tolist()
    [0.5, 0.667]
"""

from __future__ import annotations

import io

import numpy as np

__all__ = ["confusion_matrix", "per_class_accuracy", "confusion_text", "plot_confusion_matrix"]


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """int64 ``[num_classes, num_classes]``: ``m[t, p]`` = how many of class ``t`` were called ``p``."""
    flat = np.asarray(true, dtype=np.int64) * num_classes + np.asarray(predicted, dtype=np.int64)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """The share of each true class predicted correctly (NaN for a class with no images)."""
    totals = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(matrix) / np.maximum(totals, 1), np.nan)


def confusion_text(matrix: np.ndarray, classes: list) -> list:
    """The matrix as lines of text: a row per true class, a column per predicted class (numbered;
    the numbers are the rows' class indices)."""
    k = len(classes)
    width = max(len(f"{int(matrix.max()):,}") if matrix.size else 1, len(str(k - 1)))
    name_width = max(len(str(c)) for c in classes) + len(str(k - 1)) + 1
    lines = [" " * (name_width + 2) + " ".join(str(j).rjust(width) for j in range(k)) + "   <- predicted"]
    for t, name in enumerate(classes):
        label = f"{t} {name}".ljust(name_width)
        lines.append(f"  {label} " + " ".join(f"{int(v):,}".rjust(width) for v in matrix[t]))
    return lines


def plot_confusion_matrix(matrix: np.ndarray, classes: list, path, title: str = "") -> None:
    """Write the matrix as a PNG (atomically): each cell's count written in, coloured by the share
    of its true class (row), with a colour bar; rows are true classes, columns predictions."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..checkpoint import atomic_write_bytes

    k = len(classes)
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    side = max(4.5, 0.55 * k + 2.5)
    figure = Figure(figsize=(side + 1.2, side), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    fontsize = 9 if k <= 10 else max(5, 9 - (k - 10) // 3)
    if k <= 30:
        for t in range(k):
            for p in range(k):
                axes.text(p, t, f"{int(matrix[t, p])}", ha="center", va="center", fontsize=fontsize,
                          color="white" if shares[t, p] > 0.5 else "black")
    names = [str(c) for c in classes]
    axes.set_xticks(range(k), names, rotation=45 if k > 4 else 0, ha="right" if k > 4 else "center", fontsize=8)
    axes.set_yticks(range(k), names, fontsize=8)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    accuracy = np.trace(matrix) / max(matrix.sum(), 1)
    axes.set_title((title + "\n" if title else "") + f"accuracy {100 * accuracy:.2f}% on {int(matrix.sum()):,} images",
                   fontsize=10)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of the true class (row)")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    atomic_write_bytes(path, buffer.getvalue())
