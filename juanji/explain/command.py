"""The command line of juanji.explain: a model zoo network's summary, and its kernels.

    python -m juanji.explain lenet5
    python -m juanji.explain resnet18 --input-size 3,224,224 --batch-size 8
    python -m juanji.explain alexnet --model-arg small_input=true --kernels alexnet_kernels.png
    python -m juanji.explain vgg11 --plain           # plain text instead of rich's table

``add_arguments(parser)`` and ``run(args)`` let another command line (``juanji summary``) offer
the same options. A problem with the input (an unknown model, a bad size, a model that cannot
take that size) is one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_arguments", "run", "main", "default_input_size"]

_EXIT_BAD_INPUT = 2


def default_input_size(name: str, model_args: dict) -> tuple:
    """The input a zoo model is made for (see ``juanji.vision.models``), one sample."""
    channels = int(model_args.get("in_channels", 1 if name in ("lenet5", "nin") else 3))
    if name == "lenet5":
        side = int(model_args.get("input_size", 28))
    elif name in ("cnnnet", "resnet20", "resnet32", "resnet56") or model_args.get("small_input"):
        side = 32
    else:
        side = 224
    return (channels, side, side)


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
    parser.add_argument("model", help="a name from juanji.vision.models.list_models(), e.g. lenet5")
    parser.add_argument("--input-size", type=_size, default=None, metavar="C,H,W",
                        help="one sample's shape (default: what the model is made for)")
    parser.add_argument("--batch-size", type=int, default=1, help="samples per forward pass (default 1)")
    parser.add_argument("--model-arg", dest="model_args", action="append", type=_model_arg, default=[],
                        metavar="KEY=VALUE", help="argument for the model builder, repeatable, e.g. num_classes=10")
    parser.add_argument("--kernels", default=None, metavar="PNG", help="also draw the first layer's kernels here")
    parser.add_argument("--plain", action="store_true", help="plain text instead of a rich table")


def run(args: argparse.Namespace, out=None) -> int:
    """Build the model, print its summary (and draw its kernels); returns the exit status."""
    from ..vision.models import get_model
    from .summary import summary

    out = out or sys.stdout
    model_args = dict(args.model_args)
    name = args.model.lower()
    try:
        model = get_model(name, **model_args)
        size = args.input_size or default_input_size(name, model_args)
        result = summary(model, size, batch_size=args.batch_size)
        if args.plain:
            print(result, file=out)
        else:
            from .table import print_rich
            print_rich(result, file=out)
        if args.kernels:
            from .pictures import plot_kernels
            picture = plot_kernels(model, args.kernels)
            print(f"kernels: {picture.path} ({picture.rows} x {picture.cols} grid)", file=out)
    except (ValueError, TypeError, RuntimeError, OSError) as error:
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
