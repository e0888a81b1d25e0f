"""Fine-tuning from pretrained weights: ``juanji train --weights NAME_OR_PATH [--freeze-backbone]``.

``--weights`` takes what the library's builders take (``juanji.vision.models``, ``weights=``):

- a weights name: ``DEFAULT``, ``IMAGENET1K_V1`` or ``ResNet18_Weights.IMAGENET1K_V1``; the file
  comes from torchvision's cache, juanji's (``$JUANJI_HOME``) or a download (``juanji.hub``);
- a path: a ``torch.save`` file (``.pth``/``.pt``), a safetensors file, or a juanji checkpoint
  (``.juanji``, or a run folder: its ``best.juanji``).

The model is built with those weights (a file's own number of classes is read from its last
layer), its classifier replaced by a fresh one for the data's classes (d2l's "Fine-Tuning":
Xavier-initialised), and with ``--freeze-backbone`` every parameter outside that head stops
learning and the backbone's batch norms keep their statistics
(``juanji.vision.models.transfer``).

The data are prepared as the weights expect (their *preset*): a weights name's
``transforms()`` (ImageNet: shorter side resized to 256, centre crop 224, RGB, ImageNet's mean
and std), the preset of the torchvision file a path is named after (``resnet18-f37072fd.pth``),
or a juanji checkpoint's recorded preprocessing. A file without one is normalised with the
training images' statistics, as a run from scratch. ``--image-size H W`` still chooses another
size (the preset's mean and std stay).

The checkpoint records the model name and every constructor argument, so it rebuilds without the
weights file or a download; a resumed run builds the model that way too (and freezes the same
parameters) before loading the checkpoint's weights.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import sys
from dataclasses import dataclass

from .. import nn
from ..checkpoint import CheckpointError, load_checkpoint
from .builders import build_model, constructor_arguments
from .errors import TrainingError, one_line
from .preprocess import Preprocessing
from .sources import is_image_folder

__all__ = ["PretrainedWeights", "resolve_weights", "data_for_weights", "fetch_weights", "build_pretrained", "rebuild_fine_tuned",
           "trainable_parameters"]

# what loading someone else's file can raise: each becomes one line naming --weights
_LOAD_ERRORS = (OSError, RuntimeError, ValueError, KeyError, TypeError, IndexError, EOFError)


@dataclass
class PretrainedWeights:
    """What ``--weights`` named, resolved: a weights enum member or a loaded state_dict, the
    preset the data must follow (None: measure the data), and words for the run's header."""

    given: str
    member: object = None        # a WeightsEnum member (loaded through juanji.hub when building)
    state: dict | None = None    # a file's state_dict
    preset: Preprocessing | None = None
    model_args: dict | None = None   # a juanji checkpoint's constructor arguments (num_classes aside)
    description: str = ""


def _weights_enum(model: str):
    from ..vision.models import get_model_weights
    try:
        return get_model_weights(model)
    except ValueError:
        return None    # a model without pretrained weights of its own (lenet5, resnet20, ...): paths only


def _preset_of(member, pad: int = 0) -> Preprocessing | None:
    """The member's ``transforms()`` (torchvision's ImageClassification) as a Preprocessing."""
    transforms = getattr(member, "transforms", None)
    if transforms is None:
        return None
    preset = transforms()
    crop, resize = preset.crop_size[0], preset.resize_size[0]
    return Preprocessing(channels=3, height=crop, width=crop, pad=pad, mean=tuple(preset.mean),
                         std=tuple(preset.std), resize=resize)


def _looks_like_path(text: str) -> bool:
    return os.path.exists(text) or os.sep in text or \
        os.path.splitext(text)[1].lower() in (".pth", ".pt", ".safetensors", ".juanji", ".ckpt", ".bin")


def resolve_weights(model: str, weights: str, pad: int = 0) -> PretrainedWeights:
    """Resolve ``--weights`` for ``--model``: check the name, read a file (not a name's file: that is
    found or downloaded when the model is built). Every problem is one TrainingError line."""
    enum_cls = _weights_enum(model)
    if not _looks_like_path(weights):
        if enum_cls is None:
            raise TrainingError(f"--weights {weights}: model '{model}' has no pretrained weights names, and "
                                f"'{weights}' is no file (give a path to a weights file)")
        name = weights.replace(enum_cls.__name__ + ".", "")
        if name not in enum_cls.__members__:
            raise TrainingError(f"--weights {weights}: not a weights name of {model} (choose from "
                                f"{', '.join(enum_cls.__members__)}, or give a path to a weights file)")
        member = enum_cls.__members__[name]
        return PretrainedWeights(weights, member=member, preset=_preset_of(member, pad),
                                 description=f"{enum_cls.__name__}.{member.name}")
    return _read_file(model, weights, enum_cls, pad)


def data_for_weights(config) -> tuple[PretrainedWeights, Preprocessing | None]:
    """Resolve ``config.weights`` and fit the data's settings to its preset: an image folder is
    read at the preset's size and channels (``--image-size`` may choose another size), IDX data
    must already be in that format. ``config`` (a new run's resolved settings) records what was
    chosen. Returns the weights and the preprocessing to use (None: measure it on the data)."""
    weights = resolve_weights(config.model, config.weights, config.pad)
    preset = weights.preset
    if preset is None:   # a file without a preset: an image folder still gets the channels its first layer takes
        channels = _file_channels(weights.state) if weights.state is not None else None
        if channels in (1, 3) and config.channels is None and is_image_folder(config.data):
            config.channels = channels
        return weights, None
    if weights.member is not None and not is_image_folder(config.data):
        raise TrainingError(f"--weights {weights.given}: these weights take {preset.describe()} images; --data "
                            f"{config.data} holds grey IDX images: give an image folder (--data DIR with a folder "
                            "per class), which is converted to that format")
    fetch_weights(weights, progress=config.progress and sys.stderr.isatty())
    if is_image_folder(config.data):
        if config.channels not in (None, preset.channels):
            raise TrainingError(f"--channels {config.channels}: the weights {weights.description} take "
                                f"{preset.channels}-channel images")
        if config.image_size is not None:   # the user's size, straight resize; the preset's normalisation
            preset = dataclasses.replace(preset, height=config.image_size[0], width=config.image_size[1], resize=None)
        config.image_size, config.channels = [preset.height, preset.width], preset.channels
    config.pad = preset.pad
    return weights, preset


def _read_file(model: str, path: str, enum_cls, pad: int) -> PretrainedWeights:
    from .run_folder import trained_checkpoint
    path = trained_checkpoint(path)
    if not os.path.isfile(path):
        raise TrainingError(f"--weights {path}: no such file")
    if path.endswith(".juanji"):
        try:
            payload = load_checkpoint(path)
        except CheckpointError as e:
            raise TrainingError(f"--weights: {one_line(e)}") from None
        trained = payload["model"]
        if trained["name"] != model:
            raise TrainingError(f"--weights {path}: a checkpoint of model '{trained['name']}', not '{model}' "
                                f"(use --model {trained['name']})")
        args = {k: v for k, v in (trained.get("kwargs") or {}).items() if k not in ("num_classes", "in_channels")}
        preset = Preprocessing.from_dict(payload["preprocessing"])
        return PretrainedWeights(path, state=payload["model_state"], preset=preset, model_args=args,
                                 description=f"the juanji checkpoint {path}")
    from ..vision.models._api import WeightsFile
    try:
        state = WeightsFile(path).get_state_dict()
    except _LOAD_ERRORS as e:
        raise TrainingError(f"--weights {path}: cannot read it as weights: {one_line(e)}") from None
    if not state or not all(hasattr(v, "shape") for v in state.values()):
        raise TrainingError(f"--weights {path}: holds no state_dict of tensors")
    # a torchvision file under its own name (resnet18-f37072fd.pth) brings its preset along
    named = [m for m in (enum_cls or []) if m.file_name == os.path.basename(path)]
    preset = _preset_of(named[0], pad) if named else None
    return PretrainedWeights(path, state=dict(state), preset=preset,
                             description=f"{path}" + (f" (torchvision's {named[0]!r})" if named else ""))


def _file_classes(model: str, state: dict, in_channels: int, args: dict) -> int | None:
    """The number of outputs of the file's classifier: the weight under the name of the model's
    last layer (``fc``, ``classifier.6``, ...; found on a model built for the purpose, since a
    file's key order says nothing: safetensors sorts them)."""
    from ..vision.models.transfer import classifier_path
    try:
        probe = build_model(model, num_classes=2, in_channels=in_channels, **args)
        value = state.get(classifier_path(probe) + ".weight")
    except (TrainingError, ValueError, TypeError):
        return None
    return int(value.shape[0]) if value is not None and len(value.shape) in (2, 4) else None


def _file_channels(state: dict) -> int | None:
    """The input channels of the file's first convolution (its first 4-d weight)."""
    for key, value in state.items():
        if key.endswith("weight") and len(value.shape) == 4:
            return int(value.shape[1])
    return None


def _loaded(path: str, state: dict):
    """A file's state_dict as the ``weights=`` a builder takes (which then applies its own key
    fixes, e.g. GoogLeNet's auxiliary heads), without reading the file again."""
    from ..vision.models._api import WeightsFile

    class Loaded(WeightsFile):
        def get_state_dict(self, progress: bool = True, **kwargs):
            return state

    return Loaded(path)


def _outputs(head) -> int:
    return head.out_features if isinstance(head, nn.Linear) else head.out_channels


def fetch_weights(weights: PretrainedWeights, progress: bool) -> None:
    """A weights name's file into the cache (found there, or downloaded with a bar when
    ``progress``); offline, one line naming the file and where to put it."""
    if weights.member is None:
        return
    from ..hub import cached_file
    try:
        cached_file(weights.member.url, progress=progress, check_hash=True)
    except (RuntimeError, OSError, ValueError) as e:
        raise TrainingError(f"--weights {weights.given}: {one_line(e)}") from None


def build_pretrained(model: str, weights: PretrainedWeights, num_classes: int, in_channels: int,
                     model_args: dict, freeze: bool):
    """The model with the weights in, its head replaced for ``num_classes`` and (``freeze``) the
    backbone frozen; and the constructor arguments that rebuild it (the checkpoint's record).
    Call after seeding: the new head's initial weights are drawn from juanji's generator."""
    from ..vision.models import get_model
    from ..vision.models.transfer import classifier_path, freeze_backbone, replace_classifier
    args = {**(weights.model_args or {}), **model_args}
    try:
        if weights.member is not None:   # (its file is in the cache: fetch_weights)
            built = get_model(model, weights=weights.member, progress=False, **args)
        else:
            classes = _file_classes(model, weights.state, in_channels, args) or num_classes
            given = {"num_classes": classes, "in_channels": in_channels, **args}
            if _weights_enum(model) is not None:   # the builder's own handling of such files
                built = get_model(model, weights=_loaded(weights.given, weights.state), **given)
            else:
                built = build_model(model, **given)
                built.load_state_dict(weights.state)
    except TrainingError as e:
        raise TrainingError(f"--weights {weights.given}: {one_line(e)}") from None
    except _LOAD_ERRORS as e:
        raise TrainingError(f"--weights {weights.given} do not fit model '{model}': "
                            f"{_differences(model, weights, num_classes, in_channels, args) or one_line(e)}") from None
    head = built.get_submodule(classifier_path(built))
    if _outputs(head) != num_classes:
        replace_classifier(built, num_classes)
    if freeze:
        freeze_backbone(built)
    return built, _recorded_arguments(model, built, {"num_classes": num_classes, "in_channels": in_channels,
                                                     **args})


def _differences(model: str, weights: PretrainedWeights, num_classes: int, in_channels: int, args: dict) -> str:
    """A short account of how a file's state_dict differs from the model's (the full list of a
    strict load can run to hundreds of keys): counts and the first few of each kind."""
    if weights.state is None:
        return ""
    try:
        classes = _file_classes(model, weights.state, in_channels, args) or num_classes
        expected = build_model(model, num_classes=classes, in_channels=in_channels, **args).state_dict()
    except Exception:   # noqa: BLE001 (the model itself cannot be built: the load error says enough)
        return ""
    given = weights.state
    extra = [k for k in given if k not in expected and not k.endswith("num_batches_tracked")]
    missing = [k for k in expected if k not in given and not k.endswith("num_batches_tracked")]
    shapes = [f"{k} {list(given[k].shape)} vs {list(expected[k].shape)}" for k in expected
              if k in given and tuple(given[k].shape) != tuple(expected[k].shape)]
    parts = []
    for count, what, items in ((len(missing), "missing", missing), (len(extra), "unexpected", extra),
                               (len(shapes), "of another shape (file vs model)", shapes)):
        if count:
            parts.append(f"{count} key(s) {what}: {', '.join(items[:3])}{' ...' if count > 3 else ''}")
    return ("; ".join(parts) + " (weights of another architecture?)") if parts else ""


def _recorded_arguments(model: str, built, given: dict) -> dict:
    """Every constructor argument, plus those the weights decided inside the builder and the model
    keeps as attributes (GoogLeNet's ``transform_input`` with ImageNet weights)."""
    arguments = constructor_arguments(model, given)
    if "in_channels" in arguments:
        first = next((m for m in built.modules() if isinstance(m, nn.Conv2d)), None)
        if first is not None:
            arguments["in_channels"] = first.in_channels
    try:
        parameters = inspect.signature(type(built).__init__).parameters.values()
    except (TypeError, ValueError):
        return arguments
    for parameter in parameters:
        value = getattr(built, parameter.name, inspect.Parameter.empty)
        if parameter.name in given or parameter.default is inspect.Parameter.empty:
            continue
        if isinstance(value, (bool, int, float, str)) and value != parameter.default:
            arguments[parameter.name] = value
    return arguments


def rebuild_fine_tuned(model: str, recorded: dict, freeze: bool):
    """A resumed fine-tuning run's model, from the checkpoint's recorded arguments (no weights
    file, no download); its weights come from the checkpoint afterwards."""
    from ..vision.models.transfer import freeze_backbone
    built = build_model(model, **recorded)
    if freeze:
        freeze_backbone(built)
    return built


def trainable_parameters(model) -> list:
    """The parameters the optimiser updates (all but a frozen backbone's)."""
    return [p for p in model.parameters() if p.requires_grad]
