"""Training checkpoints: one file holding everything needed to continue, evaluate or predict.

Using a trained model from Python (what ``juanji eval`` and ``juanji predict`` do):

    from juanji.checkpoint import load_checkpoint, model_from_checkpoint, load_weights

    model = model_from_checkpoint("runs/lenet5-sample/best.juanji")   # built as trained, weights in
    checkpoint = load_checkpoint("runs/lenet5-sample/best.juanji")    # the whole record (a dict)
    load_weights(my_model, checkpoint)     # into a model you built: refused if its layers differ

A checkpoint is a dict written with :func:`juanji.save` (an ``.npz`` archive of arrays plus a
JSON description; loading never executes code):

    format            "juanji-checkpoint-v1"
    model             {"name": "lenet5", "kwargs": every constructor argument,
                       "layers": [[module path, class name], ...]}
    model_state       the model's state_dict
    preprocessing     channels, height, width, pad, mean, std (see training/preprocess.py)
    classes           class names, in label order
    config            the resolved training settings
    optimizer_state, scheduler_state
    rng               juanji's generator state; the sampler's seed, epoch and position
    progress          epoch, step_in_epoch, global_step (where the run stands)
    running           the current epoch's partial training loss/accuracy sums
    best              the best validation accuracy so far, and its epoch

``kwargs`` holds every argument of the model's builder, defaults included, so the model is
rebuilt exactly even where a library default changes later. ``layers`` lets
:func:`load_weights` refuse a model whose layers differ although its weights have the same
names and shapes (LeNet-5 with sigmoid/average pooling versus ReLU/max pooling: the same
``state_dict`` keys, and a plain ``load_state_dict`` would say "All keys matched").

Writing is atomic: the bytes go to a temporary file in the same folder, are flushed to disk,
and only then renamed over the old checkpoint (``os.replace`` is atomic on POSIX), so a crash
or a kill at any moment leaves either the old checkpoint or the new one, never a torn file.
"""

from __future__ import annotations

import io
import os

from ._atomic import TEMP_PREFIX, atomic_write_bytes  # noqa: F401  (part of this module's API)
from .serialization import load, save

__all__ = ["load_checkpoint", "model_from_checkpoint", "load_weights", "save_checkpoint", "CheckpointError",
           "atomic_write_bytes", "layer_types", "CHECKPOINT_FORMAT", "REQUIRED_KEYS", "TEMP_PREFIX"]

CHECKPOINT_FORMAT = "juanji-checkpoint-v1"
REQUIRED_KEYS = ("model", "model_state", "preprocessing", "classes", "config")


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, truncated, not a checkpoint, or from another model."""


def save_checkpoint(payload: dict, path, before_rename=None) -> None:
    """Write ``payload`` (a checkpoint dict) atomically to ``path`` (see :func:`atomic_write_bytes`)."""
    buffer = io.BytesIO()
    save(dict(payload, format=CHECKPOINT_FORMAT), buffer)
    atomic_write_bytes(path, buffer.getvalue(), before_rename=before_rename)


def load_checkpoint(path) -> dict:
    """Read and check a checkpoint; every problem is one CheckpointError line naming the file."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise CheckpointError(f"checkpoint '{path}' is a folder; expected a checkpoint file such as "
                              f"{os.path.join(path, 'last.juanji')}")
    if not os.path.exists(path):
        raise CheckpointError(f"checkpoint '{path}' does not exist")
    try:
        payload = load(path)
    except (RuntimeError, OSError, ValueError, KeyError, IndexError, TypeError) as e:
        raise CheckpointError(f"checkpoint '{path}' cannot be read: {_reading_problem(e, path)}") from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"'{path}' is a juanji file but not a training checkpoint "
                              f"(expected format {CHECKPOINT_FORMAT})")
    missing = [key for key in REQUIRED_KEYS if key not in payload]
    if missing:
        raise CheckpointError(f"checkpoint '{path}' lacks {', '.join(missing)}")
    model = payload["model"]
    if not isinstance(model, dict) or not isinstance(model.get("name"), str):
        raise CheckpointError(f"checkpoint '{path}' has no model name")
    return payload


def layer_types(model) -> list:
    """``[[module path, class name], ...]`` of every module: what a checkpoint records of the
    architecture beyond the weights (an activation or a pooling layer has none)."""
    return [[name, type(module).__name__] for name, module in model.named_modules()]


def _payload_and_path(checkpoint, path):
    """A checkpoint given as a path (read here) or as an already loaded dict."""
    if isinstance(checkpoint, dict):
        return checkpoint, "checkpoint" if path is None else os.fspath(path)
    return load_checkpoint(checkpoint), os.fspath(checkpoint)


def model_from_checkpoint(checkpoint, path=None, build=None):
    """The recorded model, built by name with its recorded arguments and filled with the
    checkpoint's weights. ``checkpoint`` is a path or a dict from :func:`load_checkpoint`
    (``path`` then names it in errors).

    ``build(name, **kwargs)`` makes the model (default: ``juanji.vision.models.get_model``).
    Weights of another architecture, or shapes that do not match, raise a CheckpointError
    naming the model and the first differences.
    """
    payload, path = _payload_and_path(checkpoint, path)
    if build is None:
        from .vision.models import get_model as build
    name = payload["model"]["name"]
    kwargs = dict(payload["model"].get("kwargs") or {})
    try:
        model = build(name, **kwargs)
    except Exception as e:  # an unknown name or bad arguments: say which checkpoint asked for it
        raise CheckpointError(f"checkpoint '{path}' asks for model '{name}' ({kwargs}), "
                              f"which cannot be built: {_first_line(e)}") from None
    _load_state(model, payload, path, name)
    return model


def load_weights(model, checkpoint, path=None):
    """Load a checkpoint's weights into ``model``, a model you built yourself; returns it.

    Refused with a CheckpointError when the model's layers differ from those the checkpoint
    was trained with (where the checkpoint records them), naming the first difference and the
    arguments to build the right model with, or when the weights do not fit.
    """
    payload, path = _payload_and_path(checkpoint, path)
    record = payload["model"]
    recorded = record.get("layers")
    if recorded is not None:
        for (name, kind), (own_name, own_kind) in zip(recorded, layer_types(model)):
            if (name, kind) != (own_name, own_kind):
                where = f"layer '{name}'" if name == own_name else f"layer '{name}' / '{own_name}'"
                arguments = ", ".join(f"{k}={v!r}" for k, v in (record.get("kwargs") or {}).items())
                raise CheckpointError(
                    f"checkpoint '{path}' was trained on {record['name']}({arguments}), whose {where} is {kind}; "
                    f"this model's is {own_kind}: build it with those arguments, or use "
                    f"juanji.checkpoint.model_from_checkpoint")
        if len(recorded) != len(layer_types(model)):
            raise CheckpointError(f"checkpoint '{path}' was trained on a model of {len(recorded)} modules "
                                  f"({record['name']}); this model has {len(layer_types(model))}")
    _load_state(model, payload, path, record["name"])
    return model


def _load_state(model, payload: dict, path: str, name: str) -> None:
    state = payload["model_state"]
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint '{path}' has no model weights")
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError, ValueError, TypeError) as e:
        detail = " ".join(part.strip() for part in str(e).splitlines()[1:] if part.strip()) or str(e)
        if len(detail) > 300:
            detail = detail[:300] + " ..."
        raise CheckpointError(f"checkpoint '{path}' does not fit model '{name}': its weights are from another "
                              f"model ({detail})") from None


def _reading_problem(error: BaseException, path: str) -> str:
    """Why a file could not be read, in words for this file: without the loader's own prefix,
    and without NumPy's advice to load pickled data "unsafely" (juanji never unpickles)."""
    text = _first_line(error)
    for prefix in (f"juanji.load: {path} ", f"juanji.load: {path}: ", "juanji.load: "):
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    if "allow_pickle" in text or "pickle" in text.lower() and "unsafe" in text.lower():
        return "it holds pickled Python objects, which juanji never loads (a checkpoint is arrays and JSON)"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    if text.startswith("is "):
        text = "it " + text
    return text or "truncated or corrupt"


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
