"""What ``juanji train`` and ``juanji eval`` print for a segmentation run: pixel accuracy, the
per-class IoU table and the mean IoU, with the class names.

    IoU_c = TP_c / (TP_c + FP_c + FN_c)      (pixels of class c predicted c, over the union of
                                              the pixels that are c and those predicted c)
"""

from __future__ import annotations

import math
import os

from .errors import TrainingError

__all__ = ["print_train_result", "iou_table", "evaluate_segmentation_checkpoint", "print_eval_result"]


def _percent(value) -> str:
    return "    -" if value is None or math.isnan(value) else f"{100 * value:5.1f}%"


def iou_table(result, classes) -> list[str]:
    """One line per class: IoU, recall (class accuracy) and pixel count, then the means."""
    matrix = result.confusion
    width = max(len(c) for c in list(classes) + ["mean IoU"])
    lines = [f"  {'class'.ljust(width)}     IoU  accuracy      pixels"]
    for c, name in enumerate(classes):
        truth = int(matrix[c].sum())
        recall = matrix[c, c] / truth if truth else math.nan
        lines.append(f"  {name.ljust(width)}  {_percent(result.iou[c])}    {_percent(recall)}  {truth:>10,}")
    lines.append(f"  {'mean IoU'.ljust(width)}  {_percent(result.mean_iou)}   (over the classes present in the "
                 "truth or the prediction)")
    return lines


def print_train_result(result) -> None:
    on = "the test split" if result.val_is_test else f"{result.val_count:,} held-out training images"
    test = result.test
    print(f"best checkpoint: epoch {result.best_epoch}, validation mIoU {100 * result.best_accuracy:.2f}% on {on}")
    print(f"test mIoU: {100 * test.mean_iou:.2f}%  pixel accuracy {100 * test.accuracy:.2f}%  (test loss "
          f"{test.loss:.4f} per pixel on {test.count:,} images, best checkpoint)")
    print(f"checkpoints: {result.path('last')} (last), {result.path('best')} (best)")
    print(f"curves: {result.path('curves')}")
    print(f"metrics: {result.path('metrics')}")


def evaluate_segmentation_checkpoint(path, payload, model, preprocessing, classes, data=None, data_root=None,
                                     batch_size: int = 50, workers: int = 0, image_size=None, progress=None):
    """Loss, pixel accuracy, per-class IoU and mIoU of a segmentation checkpoint on its recorded
    test split, or on ``data`` (scenes or a folder: converted to the model's input size)."""
    from .data import evaluation_loader
    from .segmentation_data import load_segmentation_datasets
    from .tasks import get_task
    config = payload["config"]
    same = data is None
    source = config["data"] if same else data
    size = list(image_size) if image_size else [preprocessing.height, preprocessing.width]
    datasets = load_segmentation_datasets(source, data_root or config.get("data_root"), seed=int(config.get("seed", 0)),
                                          test_samples=config.get("test_samples") if same else None,
                                          image_size=size, preprocessing=preprocessing, need_train=False,
                                          known_classes=classes)
    if list(datasets.test.images.shape[1:3]) != [preprocessing.height, preprocessing.width]:
        raise TrainingError(f"{datasets.description}: images are {datasets.test.images.shape[1]}x"
                            f"{datasets.test.images.shape[2]}, the model was trained on {preprocessing.describe()}")
    loader = evaluation_loader(datasets.test, batch_size, workers)
    task = get_task("segmentation")
    if progress is None:
        result = task.evaluate(model, loader, num_classes=len(classes))
    else:
        with progress.evaluating("evaluating", len(loader)) as advance:
            result = task.evaluate(model, loader, on_batch=advance, num_classes=len(classes))
    result.classes, result.data_classes = classes, list(datasets.classes)
    return result, datasets.description


def print_eval_result(path, result, description, confusion_png=None, progress=None) -> None:
    from .confusion import plot_confusion_matrix
    from .run_folder import writing
    print(f"{path} on {description}")
    print(f"pixel accuracy: {100 * result.accuracy:.2f}%  ({int(result.confusion.trace()):,}/{result.pixels:,} "
          f"labelled pixels of {result.count:,} images; 255 = ignore)")
    print(f"mean IoU: {100 * result.mean_iou:.2f}%")
    print(f"test loss: {result.loss:.4f} (cross-entropy per pixel)")
    print("per-class IoU:")
    print("\n".join(iou_table(result, result.classes)))
    picture = confusion_png or os.path.join(os.path.dirname(os.path.abspath(path)), "confusion.png")
    try:
        with writing(picture):
            plot_confusion_matrix(result.confusion, result.classes, picture,
                                  title=f"{os.path.basename(path)}: pixels on {description}")
        print(f"confusion matrix (pixels): {picture}")
    except TrainingError as e:
        if confusion_png:
            raise
        if progress is not None:
            progress.warn(f"{e} (choose another place with --confusion PNG)")


def eval_segmentation(path, args, progress) -> bool:
    """``juanji eval`` for a segmentation checkpoint (False: not one, classification's eval runs)."""
    from .inference import load_trained_model
    from .tasks import task_of
    payload, model, preprocessing, classes = load_trained_model(path)
    if task_of(payload.get("config")).name != "segmentation":
        return False
    if args.channels not in (None, 3):
        raise TrainingError(f"--channels {args.channels}: a segmentation model takes RGB images")
    result, description = evaluate_segmentation_checkpoint(
        path, payload, model, preprocessing, classes, data=args.data, data_root=args.data_root,
        batch_size=min(args.batch_size, 50), workers=args.workers, image_size=args.image_size, progress=progress)
    print_eval_result(path, result, description, confusion_png=args.confusion, progress=progress)
    return True
