"""The command line of juanji.explain: a network's summary, and its kernels (``juanji summary``).

    python -m juanji.explain lenet5
    python -m juanji.explain resnet18 --input-size 3,224,224 --batch-size 8 --depth 1
    python -m juanji.explain alexnet --model-arg small_input=true --kernels alexnet_kernels.png
    python -m juanji.explain vgg11 --plain --columns output,params,macs   # plain text, chosen columns
    python -m juanji.explain runs/lenet5-sample/best.juanji               # a trained checkpoint

The model is a name of the zoo (``juanji models`` lists them) or a training checkpoint (a file,
or a run folder: its best.juanji), summarised on the input it was trained on.

``add_arguments(parser)`` and ``run(args)`` let another command line (``juanji summary``) offer
the same options. A problem with the input (an unknown model, a bad size, a model that cannot
take that size) is one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys

from .zoo import default_input_size   # (its home is zoo.py; also imported from here)

__all__ = ["add_arguments", "run", "main", "default_input_size"]

_EXIT_BAD_INPUT = 2


def _size(text: str) -> tuple:
    try:
        size = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected sizes like 3,32,32, got {text!r}") from None
    if not size or any(v <= 0 for v in size):
        raise argparse.ArgumentTypeError(f"expected positive sizes like 3,32,32, got {text!r}")
    return size


def _model_arg(text: str) -> tuple:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    lowered = value.lower()
    if lowered in ("true", "false"):
        return key, lowered == "true"
    for kind in (int, float):
        try:
            return key, kind(value)
        except ValueError:
            pass
    return key, value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .table import COLUMNS
    parser.add_argument("model", help="a zoo name (see juanji models), e.g. lenet5, or a checkpoint or run folder")
    parser.add_argument("--input-size", type=_size, default=None, metavar="C,H,W",
                        help="one sample's shape (default: what the model is made for)")
    parser.add_argument("--batch-size", type=int, default=1, help="samples per forward pass (default 1)")
    parser.add_argument("--model-arg", dest="model_args", action="append", type=_model_arg, default=[],
                        metavar="KEY=VALUE", help="argument for the model builder, repeatable, e.g. num_classes=10")
    parser.add_argument("--kernels", default=None, metavar="PNG", help="also draw the first layer's kernels here")
    parser.add_argument("--plain", action="store_true", help="plain text instead of a rich table")
    parser.add_argument("--depth", type=int, default=None,
                        help="show modules down to this depth (1: the model's children; blocks at the limit show "
                             "their contents' cost); default: all")
    parser.add_argument("--columns", default=None, metavar="NAMES",
                        help=f"comma-separated columns after Layer and Type, from: {', '.join(COLUMNS)} "
                             "(default: output,params,frozen,macs,flops,rf)")


def is_checkpoint(text: str) -> bool:
    """A model argument that names a checkpoint file or a run folder rather than a zoo model."""
    return os.path.isdir(text) or os.path.isfile(text) or text.endswith(".juanji")


def model_and_input(text: str, model_args: dict, input_size=None):
    """``(model, one sample's input size, title)`` for a zoo name or a checkpoint / run folder."""
    if is_checkpoint(text):
        from ..checkpoint import load_checkpoint, model_from_checkpoint
        from ..training.preprocess import Preprocessing
        from ..training.run_folder import trained_checkpoint
        path = trained_checkpoint(text)
        payload = load_checkpoint(path)
        if model_args:
            raise ValueError("--model-arg applies to zoo names; a checkpoint records its model's arguments")
        model = model_from_checkpoint(payload, path)
        size = input_size or Preprocessing.from_dict(payload["preprocessing"]).input_shape
        return model, size, f"{payload['model']['name']} from {path}"
    from ..vision.models import get_model
    name = text.lower()
    model = get_model(name, **model_args)
    return model, input_size or default_input_size(name, model_args), name


def run(args: argparse.Namespace, out=None) -> int:
    """Build the model, print its summary (and draw its kernels); returns the exit status."""
    from ..checkpoint import CheckpointError
    from .summary import summary

    out = out or sys.stdout
    try:
        model, size, title = model_and_input(args.model, dict(args.model_args), args.input_size)
        result = summary(model, size, batch_size=args.batch_size, depth=getattr(args, "depth", None),
                         columns=getattr(args, "columns", None))
        if is_checkpoint(args.model):
            result.model_name = title
        if args.plain:
            print(result, file=out)
        else:
            from .table import print_rich
            print_rich(result, file=out)
        if args.kernels:
            from .pictures import plot_kernels
            picture = plot_kernels(model, args.kernels)
            print(f"kernels: {picture.path} ({picture.rows} x {picture.cols} grid)", file=out)
    except (ValueError, TypeError, RuntimeError, OSError, CheckpointError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        notes = getattr(error, "__notes__", [])
        print(f"juanji summary: error: {first_line}" + (f" ({notes[0]})" if notes else ""), file=sys.stderr)
        return _EXIT_BAD_INPUT
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m juanji.explain",
                                     description="Summarise a juanji.vision.models network: shapes, parameters, "
                                                 "MACs/FLOPs, receptive fields, memory.")
    add_arguments(parser)
    return run(parser.parse_args(argv))
