"""The ONNX graph being built: value names, initializers, nodes.

Values are named by the identity of the juanji array they hold (``id(tensor._data)``): a
traced op's result gets a fresh name, a parameter or buffer is an initializer under its
``state_dict`` name, any other array met as an input is a constant initializer.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

__all__ = ["Graph", "ExportError"]


class ExportError(RuntimeError):
    """An op or a model that cannot be exported (the message names the op and the layer)."""


class Graph:
    def __init__(self, onnx_module, param_names: dict):
        self.onnx = onnx_module
        self.helper = onnx_module.helper
        self.param_names = param_names    # id(array) -> state_dict name
        self.values: dict = {}            # id(array) -> value name
        self.keep: list = []              # arrays whose ids are in values
        self.traced: list = []            # (array, name) of the traced ops' results, in order
        self.nodes: list = []
        self.initializers: dict = {}      # name -> TensorProto
        self.used_names: Counter = Counter()
        self._consts: dict = {}

    # -- names ----------------------------------------------------------------------------------
    def fresh(self, base: str) -> str:
        self.used_names[base] += 1
        n = self.used_names[base]
        return base if n == 1 else f"{base}_{n - 1}"

    def bind(self, arr, name: str) -> None:
        self.values[id(arr)] = name
        self.keep.append(arr)

    def name_of(self, value) -> str:
        """The value name of a Tensor or array: traced, a parameter/buffer, or a new constant."""
        arr = getattr(value, "_data", value)
        if id(arr) in self.values:
            return self.values[id(arr)]
        name = self.param_names.get(id(arr))
        if name is None:
            copied = self._copy_of_traced(arr)
            if copied is not None:
                return copied
        name = self.fresh(name) if name is not None else self.fresh("onnx::Constant")
        self.add_initializer(name, np.asarray(arr))
        self.bind(arr, name)
        return name

    def _copy_of_traced(self, arr):
        """The name of a recent traced value that ``arr`` is a copy of, if any: a Tensor method
        may give a fresh result its own memory after the op (``clone``'s ``_own``)."""
        if not isinstance(arr, np.ndarray) or arr.ndim == 0:
            return None
        for other, name in reversed(self.traced[-64:]):
            if other.shape == arr.shape and other.dtype == arr.dtype and np.array_equal(other, arr):
                self.bind(arr, name)
                return name
        return None

    def add_initializer(self, name: str, arr) -> str:
        arr = np.asarray(arr)
        if not arr.flags.c_contiguous:  # (np.ascontiguousarray would make a 0-d array 1-d)
            arr = np.ascontiguousarray(arr)
        self.initializers[name] = self.onnx.numpy_helper.from_array(arr, name)
        return name

    def const(self, values, dtype) -> str:
        """A constant initializer (shared between uses) of ``values`` as ``dtype``."""
        arr = np.asarray(values, dtype=dtype)
        key = (arr.dtype.str, arr.shape, arr.tobytes())
        if key not in self._consts:
            self._consts[key] = self.add_initializer(self.fresh("onnx::Constant"), arr)
        return self._consts[key]

    def i64(self, values) -> str:
        return self.const(values, np.int64)

    # -- nodes ----------------------------------------------------------------------------------
    def node(self, op_type: str, inputs, prefix: str = "", outputs: int = 1, **attrs) -> list:
        base = f"{prefix}/{op_type}" if prefix else f"/{op_type}"
        name = self.fresh(base)
        outs = [f"{name}_output_{i}" for i in range(outputs)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(self.helper.make_node(op_type, list(inputs), outs, name=name, **attrs))
        return outs

    def one(self, op_type: str, inputs, prefix: str = "", **attrs) -> str:
        return self.node(op_type, inputs, prefix, 1, **attrs)[0]

    def rename_output(self, old: str, new: str) -> bool:
        """Give the node output ``old`` the name ``new`` (for the graph's outputs)."""
        for node in self.nodes:
            for i, out in enumerate(node.output):
                if out == old:
                    node.output[i] = new
                    for other in self.nodes:
                        for j, inp in enumerate(other.input):
                            if inp == old:
                                other.input[j] = new
                    return True
        return False
