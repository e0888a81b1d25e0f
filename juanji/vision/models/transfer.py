"""Transfer learning on the zoo's models (d2l's "Fine-Tuning" recipe, and what
``juanji train --weights ... --freeze-backbone`` builds on):

- :func:`replace_classifier` swaps the last layer for one with ``num_classes`` outputs (``fc``
  of ResNet/GoogLeNet, the last Linear of ``classifier`` for AlexNet/VGG/MobileNet/DenseNet,
  SqueezeNet's class convolution), initialised Xavier-uniform as d2l does;
- :func:`freeze_backbone` stops gradients to every parameter outside that head and keeps the
  backbone's batch-norm statistics fixed (eval mode), so training changes only the head;
- :func:`param_groups` gives two optimizer groups, the backbone at ``lr`` and the head at
  ``lr * head_lr_mult`` (d2l: 10x), for ``SGD(param_groups(model, lr), ...)``.

    >>> import juanji
    >>> from juanji.vision.models import resnet18
    >>> from juanji.vision.models.transfer import freeze_backbone, param_groups, replace_classifier
    >>> model = resnet18()   # resnet18(weights=ResNet18_Weights.DEFAULT) for the pretrained weights
    >>> replace_classifier(model, 2)
    Linear(in_features=512, out_features=2, bias=True)
    >>> model = freeze_backbone(model)
    >>> optimizer = juanji.optim.SGD(param_groups(model, lr=5e-5), lr=5e-5, weight_decay=1e-3)
    >>> [group["lr"] for group in optimizer.param_groups]     # only the new head is trained
    [0.0005]
"""

from __future__ import annotations

from ... import nn
from ...nn import init
from ...nn.modules.normalization import _BatchNorm
from ._api import get_model_weights
from ._registry import get_model

__all__ = ["classifier_path", "replace_classifier", "freeze_backbone", "param_groups", "head_parameters",
           "pretrained_model"]


def classifier_path(model) -> str:
    """The dotted name of the model's last (class-producing) layer."""
    if isinstance(getattr(model, "fc", None), nn.Linear):
        return "fc"
    classifier = getattr(model, "classifier", None)
    if isinstance(classifier, nn.Linear):
        return "classifier"
    if isinstance(classifier, nn.Sequential):
        for i in reversed(range(len(classifier))):
            if isinstance(classifier[i], (nn.Linear, nn.Conv2d)):
                return f"classifier.{i}"
    last = None
    for name, module in model.named_modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            last = name
    if last is None:
        raise ValueError(f"replace_classifier: {type(model).__name__} has no Linear or Conv2d layer to replace")
    return last


def _set(model, path: str, module) -> None:
    parent_path, _, name = path.rpartition(".")
    parent = model.get_submodule(parent_path)
    setattr(parent, name, module) if not name.isdigit() else parent.__setitem__(int(name), module)


def replace_classifier(model, num_classes: int):
    """Replace the last layer by a fresh one with ``num_classes`` outputs; returns it."""
    path = classifier_path(model)
    old = model.get_submodule(path)
    if isinstance(old, nn.Linear):
        new = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
    else:
        new = nn.Conv2d(old.in_channels, num_classes, old.kernel_size, old.stride, old.padding)
    init.xavier_uniform_(new.weight)
    if new.bias is not None:
        init.zeros_(new.bias)
    _set(model, path, new)
    model._juanji_head = path  # what freeze_backbone and param_groups treat as the head
    return new


def _head_path(model) -> str:
    return getattr(model, "_juanji_head", None) or classifier_path(model)


def head_parameters(model) -> list:
    return list(model.get_submodule(_head_path(model)).parameters())


class _FrozenBackbone:
    """Forward pre-hook state: the backbone's batch norms stay in eval mode even in model.train()."""

    def __init__(self, norms):
        self.norms = norms

    def __call__(self, module, args):
        for m in self.norms:
            m.training = False


def freeze_backbone(model):
    """No gradients outside the head; the backbone's batch norms keep their statistics."""
    head = {id(p) for p in head_parameters(model)}
    for p in model.parameters():
        if id(p) not in head:
            p.requires_grad_(False)
    head_module = model.get_submodule(_head_path(model))
    inside_head = {id(m) for m in head_module.modules()}
    norms = [m for m in model.modules() if isinstance(m, _BatchNorm) and id(m) not in inside_head]
    model.register_forward_pre_hook(_FrozenBackbone(norms))
    return model


def param_groups(model, lr: float, head_lr_mult: float = 10.0) -> list:
    """``[{"params": backbone, "lr": lr}, {"params": head, "lr": lr * head_lr_mult}]``
    (parameters that do not require grad are left out)."""
    head = head_parameters(model)
    head_ids = {id(p) for p in head}
    backbone = [p for p in model.parameters() if id(p) not in head_ids and p.requires_grad]
    groups = [{"params": backbone, "lr": lr}] if backbone else []
    groups.append({"params": head, "lr": lr * head_lr_mult})
    return groups


def pretrained_model(name: str, weights, num_classes: int, freeze: bool = False, progress: bool = True,
                     **kwargs):
    """Model ``name`` with pretrained ``weights`` (a weights name such as ``"DEFAULT"`` or
    ``"ResNet18_Weights.IMAGENET1K_V1"``, or a path), its classifier replaced for ``num_classes``
    when that differs, and the backbone frozen if ``freeze`` (what ``juanji train --weights W
    --freeze-backbone`` needs; the weights' ``transforms()`` preset is ``model.weights_preset``
    when the weights are an enum member, None for a file)."""
    enum_cls = get_model_weights(name)
    resolved = enum_cls.verify(weights)
    model = get_model(name, weights=resolved, progress=progress, **kwargs)
    head = model.get_submodule(classifier_path(model))
    outputs = head.out_features if isinstance(head, nn.Linear) else head.out_channels
    if outputs != num_classes:
        replace_classifier(model, num_classes)
    if freeze:
        freeze_backbone(model)
    model.weights_preset = resolved.transforms() if hasattr(resolved, "transforms") else None
    return model
