"""ONNX in and out: ``juanji.onnx.export`` (torch.onnx.export's signature) traces one forward
pass through juanji's own Ops and writes the graph with the ``onnx`` package;
``juanji.onnx.load_model`` turns an ONNX CNN graph into a juanji ``nn.Module`` with Parameters.

The ``onnx`` package is an optional extra (``pip install 'juanji[onnx]'``); ``import juanji``
never needs it.
"""

from __future__ import annotations

__all__ = ["export", "load_model", "to_module", "ExportError"]

from ._graph import ExportError


def export(model, args, f, *rest, **kwargs):
    from ._export import export as _export
    return _export(model, args, f, *rest, **kwargs)


def load_model(path_or_proto):
    """An ONNX model (a path, bytes, or an ``onnx.ModelProto``) as a juanji ``nn.Module``."""
    from ._import import load_model as _load
    return _load(path_or_proto)


to_module = load_model
