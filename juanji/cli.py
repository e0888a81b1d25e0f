"""The ``juanji`` command: train, evaluate and use convolutional networks.

    juanji train --model lenet5 --data sample --epochs 5
    juanji train --resume runs/lenet5-sample            # continue a stopped run exactly
    juanji eval runs/lenet5-sample/best.juanji           # test accuracy and loss
    juanji predict runs/lenet5-sample/best.juanji shoe.png coat.jpg
    juanji summary resnet20                               # layers, shapes, parameters (juanji.explain)

A problem with the input (a missing or corrupt dataset file, an unreadable image, a checkpoint
from another model, an unknown name) is reported as one line on stderr and a non-zero exit
status (2), never a traceback; nothing already saved is touched. ``JUANJI_DEBUG=1`` shows the
traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from contextlib import contextmanager

__all__ = ["main", "build_parser", "EXIT_BAD_INPUT", "EXIT_INTERRUPTED"]

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130   # 128 + SIGINT; SIGTERM gives 143


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the usage text stays behind --help)."""

    def error(self, message):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_train_arguments(p: argparse.ArgumentParser) -> None:
    from .training.choices import OPTIMIZERS, SCHEDULERS, choices_help
    from .training.config import TrainConfig

    # every default is SUPPRESS: the options not given stay out of the namespace, so a resumed
    # run can tell what was asked for from what is just a default (TrainConfig holds those)
    S = argparse.SUPPRESS
    p.add_argument("--task", default=S, choices=["classification", "segmentation"],
                   help="classification (a class per image, the default) or segmentation (a class per pixel: "
                        "--model fcn_resnet18_d2l, fcn8s_resnet18, fcn_resnet50; --data scenes, the default, or a "
                        "folder with images/ and masks/, or a VOC root)")
    p.add_argument("--model", default=S, help="model name for juanji.vision.models.get_model (default lenet5)")
    p.add_argument("--model-arg", dest="model_args", action="append", type=_model_arg, default=S,
                   metavar="KEY=VALUE", help="extra model argument, repeatable, e.g. small_input=true or "
                                             "variant=classic (the builder's defaults otherwise, as in the library)")
    p.add_argument("--data", default=S,
                   help="sample | fashion-mnist | mnist | DIR (IDX files, or an image folder per class; default sample)")
    p.add_argument("--data-root", default=S,
                   help="folder holding fashion-mnist/ and mnist/ IDX files (default ../shared/data if present, "
                        "else $JUANJI_DATA)")
    p.add_argument("--epochs", type=int, default=S, help="number of epochs (default 10)")
    p.add_argument("--batch-size", type=int, default=S, help="images per step (default 64)")
    p.add_argument("--lr", type=float, default=S, help="learning rate (default: " + _per_choice(
        {name: f"{o.lr:g}" for name, o in OPTIMIZERS.items()}) + ")")
    p.add_argument("--optimizer", default=S, help=f"{choices_help(OPTIMIZERS)} (default {TrainConfig.optimizer})")
    p.add_argument("--momentum", type=float, default=S, help="momentum (default: " + _per_choice(
        {name: f"{o.momentum:g}" for name, o in OPTIMIZERS.items() if o.momentum is not None}) + ")")
    p.add_argument("--weight-decay", type=float, default=S, help="L2 penalty (default: " + _per_choice(
        {name: f"{o.weight_decay:g}" for name, o in OPTIMIZERS.items()}) + ")")
    p.add_argument("--scheduler", default=S, help=f"{choices_help(SCHEDULERS)} (default {TrainConfig.scheduler}): "
                   + "; ".join(f"{name}: {s.summary}" for name, s in SCHEDULERS.items() if name != "none").replace("%", "%%"))
    p.add_argument("--step-size", type=int, default=S, help="epochs between lr drops for --scheduler step "
                                                            "(default epochs // 3)")
    p.add_argument("--gamma", type=float, default=S, help="lr factor (default: " + _per_choice(
        {name: f"{s.gamma:g}" for name, s in SCHEDULERS.items() if s.gamma is not None}) + ")")
    p.add_argument("--seed", type=int, default=S, help="random seed: weights, shuffling, dropout (default 0)")
    p.add_argument("--out", default=S, help="run folder for checkpoints, metrics and curves "
                                            "(default runs/MODEL-DATA)")
    p.add_argument("--resume", nargs="?", const=True, default=S, metavar="CHECKPOINT",
                   help="continue a run from a checkpoint or run folder (alone: the --out folder's last.juanji)")
    p.add_argument("--workers", type=int, default=S, help="data-loading worker processes (default 0)")
    p.add_argument("--checkpoint-every", type=int, default=S,
                   help="also write last.juanji every N steps within an epoch (default 0: epoch ends only)")
    p.add_argument("--log-every", type=int, default=S, help="steps between metrics-log step records (default 50)")
    p.add_argument("--val-fraction", type=float, default=S,
                   help="hold out this share of the training images, drawn with --seed, for validation and for "
                        "choosing best.juanji (default 0.1; 0: validate on the test split, with a warning)")
    p.add_argument("--early-stopping", type=int, default=S, metavar="PATIENCE",
                   help="stop after PATIENCE epochs without a better validation accuracy (default 0: never)")
    p.add_argument("--save-top-k", type=int, default=S, metavar="K",
                   help="keep the checkpoints of the K best epochs by validation accuracy as top-epochNNN.juanji "
                        "(default 1: best.juanji alone)")
    p.add_argument("--train-samples", type=int, default=S, help="train on a seeded subset of N images")
    p.add_argument("--test-samples", type=int, default=S, help="test on a seeded subset of N images")
    p.add_argument("--pad", type=int, default=S, help="zero pixels around every image (2: 28x28 -> 32x32)")
    p.add_argument("--image-size", type=int, nargs=2, metavar=("H", "W"), default=S,
                   help="resize image-folder images to H x W")
    p.add_argument("--channels", type=int, default=S, help="convert image-folder images to 1 (grey) or 3 (RGB)")
    p.add_argument("--no-progress", dest="progress", action="store_false", default=S,
                   help="no live progress bars (the per-epoch lines remain)")
    p.add_argument("--weights", default=S, metavar="NAME_OR_PATH",
                   help="start from pretrained weights and fine-tune: a weights name of the model (DEFAULT, "
                        "IMAGENET1K_V1, ResNet18_Weights.IMAGENET1K_V1: torchvision's cache, $JUANJI_HOME or a "
                        "download) or a file (torch .pth, safetensors, a juanji checkpoint or run folder); the "
                        "classifier is replaced for the data's classes and the images prepared as the weights' "
                        "preset says (ImageNet: resize 256, centre crop 224, its mean and std)")
    p.add_argument("--freeze-backbone", dest="freeze_backbone", action="store_true", default=S,
                   help="with --weights: train only the new classifier head (the backbone's weights and "
                        "batch-norm statistics stay as loaded)")
    p.add_argument("--nproc", type=int, default=S, metavar="K",
                   help="train on K processes (starts mpiexec -n K; each takes 1/K of every batch; needs "
                        "juanji[distributed]). Same as `mpiexec -n K juanji train ...`")


def _per_choice(values: dict) -> str:
    """``sgd 0.05, adam 0.001, ...``: one value per choice, for an option's help."""
    return ", ".join(f"{name} {value}" for name, value in values.items())


def _matrix(text: str):
    """``"0 1 2; 3 4 5"`` -> a 2-d float array (rows split by ';', numbers by spaces or commas)."""
    import numpy as np
    try:
        rows = [[float(v) for v in row.replace(",", " ").split()] for row in text.split(";") if row.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected rows of numbers like \"0 1; 2 3\", got {text!r}") from None
    if not rows or len({len(r) for r in rows}) != 1 or not rows[0]:
        raise argparse.ArgumentTypeError(f"expected rows of equal length like \"0 1; 2 3\", got {text!r}")
    return np.array(rows)


def _pair(text: str) -> tuple:
    try:
        values = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected one or two integers like 1 or 3,2, got {text!r}") from None
    if len(values) not in (1, 2) or min(values) < 0:
        raise argparse.ArgumentTypeError(f"expected one or two integers >= 0 like 1 or 3,2, got {text!r}")
    return values * 2 if len(values) == 1 else values


def _model_arg(text: str) -> tuple:
    """``KEY=VALUE`` with VALUE read as JSON where it can be (true, 3, 0.5, null), else a string."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got '{text}'")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def build_parser() -> argparse.ArgumentParser:
    from .version import __version__
    parser = _OneLineParser(prog="juanji", description="Train, evaluate and use convolutional networks.")
    parser.add_argument("--version", action="version", version=f"juanji {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_OneLineParser)

    train = commands.add_parser("train", help="train a model (or continue a run with --resume)")
    _add_train_arguments(train)

    evaluate = commands.add_parser("eval", help="test accuracy, loss, per-class accuracy and confusion matrix of a "
                                                 "checkpoint")
    evaluate.add_argument("checkpoint", help="a checkpoint, or a run folder (its best.juanji)")
    evaluate.add_argument("--data", default=None, help="evaluate on other data (default: the checkpoint's test split)")
    evaluate.add_argument("--data-root", default=None)
    evaluate.add_argument("--image-size", type=int, nargs=2, metavar=("H", "W"), default=None,
                          help="resize image-folder images to H x W (default: the model's input size)")
    evaluate.add_argument("--channels", type=int, default=None,
                          help="convert image-folder images to 1 (grey) or 3 (RGB) (default: the model's)")
    evaluate.add_argument("--batch-size", type=int, default=500)
    evaluate.add_argument("--workers", type=int, default=0)
    evaluate.add_argument("--confusion", default=None, metavar="PNG",
                          help="where to draw the confusion matrix (default: confusion.png beside the checkpoint)")
    evaluate.add_argument("--no-progress", dest="progress", action="store_false", help="no live progress bar")

    summary = commands.add_parser("summary", help="a model's layers: shapes, parameters, FLOPs, receptive fields")
    from .explain.command import add_arguments as add_summary_arguments
    add_summary_arguments(summary)

    commands.add_parser("models", help="the model zoo: names, parameter counts and input sizes")

    explain = commands.add_parser("explain", help="pictures of what a trained network computes: kernels, "
                                                  "feature maps, receptive fields, saliency")
    explain.add_argument("model", metavar="CHECKPOINT_OR_MODEL",
                         help="a checkpoint, a run folder (its best.juanji) or a zoo model name")
    explain.add_argument("--image", default=None, metavar="FILE",
                         help="the image to explain (default: a test image of the embedded sample), prepared as "
                              "the checkpoint's training images")
    explain.add_argument("--out", default=None, metavar="DIR",
                         help="where the PNGs go (default: the run folder's explain/, or explain-MODEL/)")
    explain.add_argument("--model-arg", dest="model_args", action="append", type=_model_arg, default=[],
                         metavar="KEY=VALUE", help="zoo model argument, repeatable")

    draw = commands.add_parser("draw", help="d2l-style diagrams of convolutions, computed by juanji (PNG)")
    draw.add_argument("diagram", help="one of: correlation, padding-stride, channels-in, channels-out, conv1x1, "
                                      "max-pool, avg-pool, transposed, receptive-field, init; or all")
    draw.add_argument("--out", default=None, help="the PNG (default DIAGRAM.png), or a folder for 'all'")
    draw.add_argument("--input", dest="X", type=_matrix, default=None, metavar="ROWS",
                      help='the input as rows of numbers, e.g. "0 1 2; 3 4 5; 6 7 8"')
    draw.add_argument("--kernel", dest="K", type=_matrix, default=None, metavar="ROWS",
                      help='the kernel, e.g. "0 1; 2 3"')
    draw.add_argument("--padding", type=_pair, default=None, metavar="P[,P]")
    draw.add_argument("--stride", type=_pair, default=None, metavar="S[,S]")
    draw.add_argument("--window", dest="kernel_size", type=_pair, default=None, metavar="K[,K]",
                      help="the pooling window (default 2)")

    predict = commands.add_parser("predict", help="top-k classes of image files, folders or globs")
    predict.add_argument("checkpoint", help="a checkpoint, or a run folder (its best.juanji)")
    predict.add_argument("images", nargs="+", metavar="IMAGE",
                         help="image files, folders (every image inside) or quoted globs ('shots/*.jpg')")
    predict.add_argument("--top-k", type=int, default=3)
    predict.add_argument("--invert", action="store_true",
                         help="invert the images (255 - v) before normalising: dark-on-light pictures for a model "
                              "trained on light-on-dark ones (Fashion-MNIST, MNIST)")
    predict.add_argument("--strict", action="store_true",
                         help="refuse images not already in the model's size and channels (default: convert them)")
    predict.add_argument("--out", default=None, metavar="DIR",
                         help="segmentation checkpoints: where NAME-mask.png and NAME-overlay.png go (default: "
                              "predictions/ in the checkpoint's run folder)")
    return parser


# ---------------------------------------------------------------------------------- commands
_ARGV = None  # the arguments main() was given (None: sys.argv), for --nproc to hand on


def _train(args, callbacks=()) -> int:
    from .training import TrainConfig, train
    from .training.distributed import current, spawn_train
    nproc = getattr(args, "nproc", None)
    if nproc is not None:
        return spawn_train(nproc, sys.argv[1:] if _ARGV is None else _ARGV)
    given = {k: v for k, v in vars(args).items() if k not in ("command", "resume")}
    if "model_args" in given:
        given["model_args"] = dict(given["model_args"])
    if "image_size" in given:
        given["image_size"] = list(given["image_size"])
    resume = getattr(args, "resume", None)
    result = train(TrainConfig.from_dict(given), resume=resume, given=given, callbacks=callbacks)
    if not current().is_main:
        return 0  # rank 0 reports
    if result.task == "segmentation":
        from .training.segmentation_report import print_train_result
        print_train_result(result)
        return 0
    on = "the test split" if result.val_is_test else f"{result.val_count:,} held-out training images"
    print(f"best checkpoint: epoch {result.best_epoch}, validation accuracy {100 * result.best_accuracy:.2f}% "
          f"on {on}")
    print(f"test accuracy: {100 * result.test.accuracy:.2f}%  (test loss {result.test.loss:.4f} on "
          f"{result.test.count:,} images, best checkpoint)")
    print(f"checkpoints: {result.path('last')} (last), {result.path('best')} (best)")
    print(f"curves: {result.path('curves')}")
    print(f"metrics: {result.path('metrics')}")
    return 0


def _eval(args) -> int:
    import numpy as np

    from .training.confusion import confusion_text, per_class_accuracy, plot_confusion_matrix
    from .training.errors import TrainingError
    from .training.inference import class_name_mismatch, evaluate_checkpoint
    from .training.progress import TrainingProgress
    from .training.run_folder import trained_checkpoint, writing
    progress = TrainingProgress(enabled=args.progress)
    path = trained_checkpoint(args.checkpoint)
    from .training.segmentation_report import eval_segmentation
    if eval_segmentation(path, args, progress):
        return 0
    result, description = evaluate_checkpoint(path, data=args.data, data_root=args.data_root,
                                              batch_size=args.batch_size, workers=args.workers,
                                              image_size=args.image_size, channels=args.channels, progress=progress)
    warning = class_name_mismatch(result)
    if warning:
        progress.warn(warning)
    print(f"{path} on {description}")
    print(f"test accuracy: {100 * result.accuracy:.2f}%  ({round(result.accuracy * result.count):,}/{result.count:,})")
    print(f"test loss: {result.loss:.4f}")
    matrix, classes = result.confusion, result.classes
    accuracies = per_class_accuracy(matrix)
    width = max(len(c) for c in classes)
    print("per-class accuracy:")
    for t, (name, accuracy) in enumerate(zip(classes, accuracies)):
        share = "  -   " if np.isnan(accuracy) else f"{100 * accuracy:5.1f}%"
        print(f"  {name.ljust(width)}  {share}  ({int(matrix[t, t]):,}/{int(matrix[t].sum()):,})")
    if len(classes) <= 20:
        print("confusion matrix (rows: true class, columns: predicted class):")
        print("\n".join(confusion_text(matrix, classes)))
    picture = args.confusion or os.path.join(os.path.dirname(os.path.abspath(path)), "confusion.png")
    try:
        with writing(picture):
            plot_confusion_matrix(matrix, classes, picture, title=f"{os.path.basename(path)} on {description}")
        print(f"confusion matrix: {picture}")
    except TrainingError as e:
        if args.confusion:
            raise
        progress.warn(f"{e} (choose another place with --confusion PNG)")
    return 0


def _predict(args) -> int:
    from .training.predict import predict_images
    from .training.progress import TrainingProgress
    from .training.segment_predict import run_predict
    if run_predict(args):
        return 0
    report = TrainingProgress(enabled=False)
    result = predict_images(args.checkpoint, args.images, top_k=args.top_k, strict=args.strict, invert=args.invert)
    for _, reason in result.skipped:
        report.warn(f"skipped: {reason}")
    for warning in result.warnings:
        report.warn(warning)
    print(result.preparation)
    for prediction in result.predictions:
        ranked = ", ".join(f"{name} {100 * p:.1f}%" for name, p in prediction.top)
        print(f"{prediction.path}: {ranked}")
    return 0


def _explain(args) -> int:
    from .explain.report import explain
    from .explain.upsampling import run_explain
    from .training.errors import TrainingError
    try:
        if run_explain(args):   # a segmentation checkpoint: the transposed convolution's upsampling
            return 0
        report = explain(args.model, image=args.image, out=args.out, model_args=dict(args.model_args))
    except (ValueError, OSError) as e:
        raise TrainingError(str(e).splitlines()[0] if str(e) else type(e).__name__) from None
    print(f"{report.title}")
    print(f"image: {report.image}")
    print(f"predicted: {report.prediction}")
    for what, picture in report.pictures:
        print(f"{what}: {picture.path}")
    return 0


def _draw(args) -> int:
    from .explain.draw import DIAGRAMS, draw
    from .training.errors import TrainingError
    from .training.run_folder import writing
    options = {"X": args.X, "K": args.K, "padding": args.padding, "stride": args.stride,
               "kernel_size": args.kernel_size}
    if args.diagram == "all":
        if any(v is not None for v in options.values()):
            raise TrainingError("draw all: --input, --kernel, --padding, --stride and --window apply to one diagram")
        folder = args.out or "diagrams"
        targets = [(name, os.path.join(folder, f"{name}.png")) for name in DIAGRAMS]
    else:
        targets = [(args.diagram, args.out or f"{args.diagram}.png")]
    for name, path in targets:
        try:
            with writing(path):
                diagram = draw(name, path, **options)
        except (ValueError, RuntimeError) as e:
            raise TrainingError(str(e).splitlines()[0]) from None
        print(f"{name}: {diagram.path}" + (f"  ({diagram.captions[0]})" if diagram.captions else ""))
    return 0


def _models(args) -> int:
    from .explain.zoo import zoo_table
    rows = zoo_table()
    width = max(len(r.name) for r in rows)
    print(f"{'model'.ljust(width)}  {'parameters':>12}  input      class")
    for r in rows:
        size = "x".join(map(str, r.input_size))
        print(f"{r.name.ljust(width)}  {r.params:>12,}  {size.ljust(9)}  {r.class_name}")
    print(f"{len(rows)} models (juanji.vision.models.get_model(name); juanji train --model NAME; "
          "juanji summary NAME for the layers)")
    return 0


def _summary(args) -> int:
    from .explain.command import run
    return run(args)  # prints its own one-line errors (exit status 2)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C's KeyboardInterrupt would be (a training loop turns both into
    a checkpoint at the current step; see training/interrupt.py)."""


def _terminate(signum, frame):
    raise Terminated()


@contextmanager
def _sigterm_like_ctrl_c():
    """SIGTERM raises :class:`Terminated` within the block (the handler before is put back after)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


_COMMANDS = {"train": _train, "eval": _eval, "predict": _predict, "summary": _summary, "models": _models,
             "explain": _explain, "draw": _draw}


def main(argv=None, *, callbacks=()) -> int:
    """Run the command; return (and, as a script, exit with) its status.

    ``callbacks`` (:class:`juanji.training.Callback`) are handed to ``juanji train``'s loop, for
    scripts that drive the command (the kill-and-resume tests inject their faults this way).
    """
    global _ARGV
    _ARGV = None if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    prog = f"juanji {args.command}"
    from .checkpoint import CheckpointError
    from .training.distributed import end_all_ranks
    from .training.errors import TrainingError, one_line
    from .training.interrupt import EXIT_CODES, TrainingInterrupted
    try:
        with _sigterm_like_ctrl_c():
            if args.command == "train":
                return _train(args, callbacks)
            return _COMMANDS[args.command](args)
    except (TrainingError, CheckpointError) as e:
        end_all_ranks(f"{prog}: error: {one_line(e)}", EXIT_BAD_INPUT)  # (a multi-process run: ends every rank)
        print(f"{prog}: error: {one_line(e)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:   # the reader left (juanji models | head): not an error of ours
        sys.stdout = open(os.devnull, "w")
        return 0
    except TrainingInterrupted as e:
        resume = f"; continue with: juanji train --resume {os.path.dirname(e.path)}" if e.path else ""
        print(f"{prog}: {e}{resume}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt as e:   # Ctrl-C (or SIGTERM, see _terminate) outside a training loop
        name = "SIGTERM" if isinstance(e, Terminated) else "SIGINT"
        what = " (the last checkpoint is intact; continue with --resume)" if args.command == "train" else ""
        print(f"{prog}: stopped by {name}{what}", file=sys.stderr)
        return EXIT_CODES[name]
    except Exception as e:  # an unexpected failure: still one line, the traceback on request
        if os.environ.get("JUANJI_DEBUG"):
            raise
        line = f"{prog}: error: {type(e).__name__}: {one_line(e)} (set JUANJI_DEBUG=1 for the traceback)"
        end_all_ranks(line, 1)
        print(line, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
