"""Loss and accuracy curves as a PNG, drawn from the metrics log.

Left: training loss per logged step (thin) and per epoch, validation loss per epoch.
Right: training and validation accuracy per epoch (segmentation: pixel accuracy, and the
validation mean IoU). Matplotlib's Agg canvas is used directly
(no pyplot), so drawing needs no display and leaves the user's matplotlib backend alone.
"""

from __future__ import annotations

import io

__all__ = ["plot_curves"]


def plot_curves(records: list[dict], path, title: str = "") -> None:
    """Write ``path`` (PNG) from metrics-log records; atomically, like the checkpoints."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    from ..checkpoint import atomic_write_bytes

    epochs = [r for r in records if r.get("kind") == "epoch"]
    steps = [r for r in records if r.get("kind") == "step"]
    steps_per_epoch = epochs[0]["step"] / epochs[0]["epoch"] if epochs else None

    figure = Figure(figsize=(10, 4), dpi=100)
    FigureCanvasAgg(figure)
    loss_axes, accuracy_axes = figure.subplots(1, 2)

    if steps and steps_per_epoch:
        loss_axes.plot([r["step"] / steps_per_epoch for r in steps], [r["loss"] for r in steps],
                       color="tab:blue", alpha=0.3, linewidth=1, label="train (logged steps)")
    x = [r["epoch"] for r in epochs]
    loss_axes.plot(x, [r["train_loss"] for r in epochs], "o-", color="tab:blue", label="train")
    loss_axes.plot(x, [r["val_loss"] for r in epochs], "o-", color="tab:orange", label="validation")
    loss_axes.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    loss_axes.legend()
    loss_axes.grid(alpha=0.3)

    segmentation = any("val_miou" in r for r in epochs)   # pixel accuracy, and the mean IoU
    what = " pixel accuracy" if segmentation else ""
    accuracy_axes.plot(x, [100 * r["train_accuracy"] for r in epochs], "o-", color="tab:blue", label="train" + what)
    accuracy_axes.plot(x, [100 * r["val_accuracy"] for r in epochs], "o-", color="tab:orange",
                       label="validation" + what)
    right_title, right_label = "accuracy", "accuracy (%)"
    if segmentation:
        accuracy_axes.plot(x, [100 * r.get("val_miou", float("nan")) for r in epochs], "s--", color="tab:green",
                           label="validation mIoU")
        right_title, right_label = "pixel accuracy and mean IoU", "%"
    accuracy_axes.set(xlabel="epoch", ylabel=right_label, title=right_title)
    accuracy_axes.legend()
    accuracy_axes.grid(alpha=0.3)

    for axes in (loss_axes, accuracy_axes):
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    if title:
        figure.suptitle(title)
    # fixed margins: tight_layout would draw the figure twice, which costs more than the plot
    figure.subplots_adjust(left=0.07, right=0.98, bottom=0.12, top=0.85 if title else 0.92, wspace=0.22)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    atomic_write_bytes(path, buffer.getvalue())
