"""Taking a classifier's inner feature maps: torchvision's ``IntermediateLayerGetter``."""

from __future__ import annotations

from collections import OrderedDict

from .... import nn

__all__ = ["IntermediateLayerGetter"]


class IntermediateLayerGetter(nn.ModuleDict):
    """The children of ``model`` in order, up to the last one named in ``return_layers``, run one
    after the other; ``forward`` returns an ordered dict ``{return_layers[name]: output of name}``.

    Only direct children can be returned, and the model must call its children in the order they
    were registered (true of torchvision's ResNets). The state_dict keys are the children's own
    (``conv1.weight``, ``layer4.1.bn2.running_mean``), so the backbone's weights load unchanged.

        >>> from juanji.vision.models.segmentation import IntermediateLayerGetter
        >>> from juanji.vision.models import resnet18
        >>> body = IntermediateLayerGetter(resnet18(), {"layer4": "out"})
        >>> list(body.keys())[-1]
        'layer4'
    """

    def __init__(self, model: nn.Module, return_layers: dict):
        names = [name for name, _ in model.named_children()]
        missing = [name for name in return_layers if name not in names]
        if missing:
            raise ValueError(f"IntermediateLayerGetter: return_layers {missing} are not children of the model "
                             f"(its children: {', '.join(names)})")
        wanted = dict(return_layers)
        pending = set(wanted)
        layers = OrderedDict()
        for name, module in model.named_children():
            layers[name] = module
            pending.discard(name)
            if not pending:
                break
        super().__init__(layers)
        self.return_layers = {str(k): str(v) for k, v in wanted.items()}

    def forward(self, x):
        out = OrderedDict()
        for name, module in self.items():
            x = module(x)
            if name in self.return_layers:
                out[self.return_layers[name]] = x
        return out
