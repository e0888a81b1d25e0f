"""Segmentation metrics from a confusion matrix: pixel accuracy, per-class IoU, mean IoU.

Over all labelled pixels (those whose target is not ``ignore_index``), the confusion matrix
``M[t, p]`` counts pixels of true class ``t`` predicted as ``p``. With ``TP_c = M[c, c]``,
``FN_c = sum_p M[c, p] - TP_c`` and ``FP_c = sum_t M[t, c] - TP_c``::

    pixel accuracy   = sum_c TP_c / sum M
    class accuracy_c = TP_c / (TP_c + FN_c)                (recall of class c)
    IoU_c            = TP_c / (TP_c + FP_c + FN_c)         (intersection over union)
    mean IoU         = mean of IoU_c over the classes that occur (in the target or the prediction)

A class that neither occurs in the targets nor is ever predicted has no IoU (NaN) and does not
count in the mean, as in torchvision's reference scripts and the VOC evaluation.

    >>> import juanji as torch
    >>> from juanji.vision.metrics import SegmentationMetrics
    >>> m = SegmentationMetrics(num_classes=2)
    >>> m.update(torch.tensor([[0, 1], [1, 1]]), torch.tensor([[0, 1], [0, 1]]))
    >>> r = m.compute()
    >>> r["pixel_accuracy"], r["iou"]
    (0.75, [0.5, 0.6666666666666666])
"""

from __future__ import annotations

import numpy as np

__all__ = ["SegmentationMetrics", "confusion_matrix"]


def _array(x, what: str) -> np.ndarray:
    data = getattr(x, "_data", None)
    if data is None:
        data = x.numpy() if hasattr(x, "numpy") and not isinstance(x, np.ndarray) else x
    out = np.asarray(data)
    if out.dtype.kind not in "iub":
        raise TypeError(f"SegmentationMetrics: {what} must hold integer class indices, got dtype {out.dtype}")
    return out


def confusion_matrix(prediction, target, num_classes: int, ignore_index: int | None = 255) -> np.ndarray:
    """The int64 matrix ``M[true, predicted]`` over the pixels whose target is not ``ignore_index``.
    ``prediction`` and ``target`` are integer arrays (or Tensors) of one shape."""
    p, t = _array(prediction, "the prediction"), _array(target, "the target")
    if p.shape != t.shape:
        raise ValueError(f"SegmentationMetrics: the prediction {list(p.shape)} and the target {list(t.shape)} "
                         "must have the same shape")
    keep = t != ignore_index if ignore_index is not None else np.ones(t.shape, bool)
    t, p = t[keep].astype(np.int64), p[keep].astype(np.int64)
    for name, values in (("target", t), ("prediction", p)):
        bad = (values < 0) | (values >= num_classes)
        if bad.any():
            shown = "" if ignore_index is None else f" (or the ignore label {ignore_index})"
            raise ValueError(f"SegmentationMetrics: {name} labels must be in [0, {num_classes - 1}]{shown}, "
                             f"got {int(values[bad][0])}")
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


class SegmentationMetrics:
    """A running confusion matrix for semantic segmentation, updated batch by batch.

    Args:
        num_classes: the number of classes C (labels 0..C-1).
        ignore_index: the target label that marks pixels not to score (VOC's 255 "void"
            border); None scores every pixel.
        class_names: optional names, used by :meth:`table`.

    ``update(prediction, target)`` takes class indices ``[N, H, W]`` or scores ``[N, C, H, W]``
    (the class is the arg-max over dim 1) and targets ``[N, H, W]``.
    """

    def __init__(self, num_classes: int, ignore_index: int | None = 255, class_names=None):
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"SegmentationMetrics: num_classes must be a positive int, got {num_classes!r}")
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(f"SegmentationMetrics: {len(class_names)} class names for {num_classes} classes")
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.class_names = list(class_names) if class_names is not None else [str(c) for c in range(num_classes)]
        self.matrix = np.zeros((num_classes, num_classes), np.int64)

    def reset(self) -> None:
        self.matrix[:] = 0

    def update(self, prediction, target) -> None:
        p = prediction
        data = getattr(p, "_data", p)
        shape = tuple(getattr(data, "shape", ()))
        t_shape = tuple(getattr(getattr(target, "_data", target), "shape", ()))
        if len(shape) == len(t_shape) + 1 and shape[:1] + shape[2:] == t_shape:
            if shape[1] != self.num_classes:
                raise ValueError(f"SegmentationMetrics: scores have {shape[1]} classes in dim 1, "
                                 f"expected {self.num_classes}")
            p = np.asarray(data).argmax(axis=1)
        self.matrix += confusion_matrix(p, target, self.num_classes, self.ignore_index)

    def compute(self) -> dict:
        """``pixel_accuracy``, ``class_accuracy`` (list), ``iou`` (list, NaN for absent classes),
        ``mean_iou``, and the ``confusion`` matrix (a copy)."""
        m = self.matrix.astype(np.float64)
        tp = np.diag(m)
        true_total, predicted_total = m.sum(axis=1), m.sum(axis=0)
        union = true_total + predicted_total - tp
        with np.errstate(invalid="ignore", divide="ignore"):
            iou = np.where(union > 0, tp / union, np.nan)
            class_accuracy = np.where(true_total > 0, tp / true_total, np.nan)
        total = m.sum()
        present = ~np.isnan(iou)
        return {
            "pixel_accuracy": float(tp.sum() / total) if total else float("nan"),
            "class_accuracy": [float(a) for a in class_accuracy],
            "iou": [float(v) for v in iou],
            "mean_iou": float(iou[present].mean()) if present.any() else float("nan"),
            "confusion": self.matrix.copy(),
        }

    def table(self) -> str:
        """Per-class IoU and accuracy as aligned text lines, then the means."""
        r = self.compute()
        width = max(len(n) for n in self.class_names + ["class"])
        lines = [f"{'class':<{width}}  {'IoU':>7}  {'acc':>7}"]
        for name, iou, acc in zip(self.class_names, r["iou"], r["class_accuracy"]):
            lines.append(f"{name:<{width}}  {iou:7.2%}  {acc:7.2%}".replace("nan%", "   -"))
        lines.append(f"{'mean IoU':<{width}}  {r['mean_iou']:7.2%}")
        lines.append(f"{'pixel acc':<{width}}  {r['pixel_accuracy']:7.2%}")
        return "\n".join(lines)
