"""``juanji.nn.parameter`` holds the uninitialized tensors of lazy modules, as torch/nn/parameter.py
does: ``UninitializedParameter``, ``UninitializedBuffer``, ``UninitializedTensorMixin`` and
``is_lazy`` are the real classes (one class each, reached from juanji.nn, juanji.nn.parameter and
juanji.nn.modules.lazy), laid out as torch's, and behave as torch's when used directly."""

import pickle

import pytest

import juanji
import juanji.nn.modules.lazy as lazy
import juanji.nn.parameter as parameter

torch = pytest.importorskip("torch")


def test_parameter_module_exports_torchs_names():
    import torch.nn.parameter as torch_parameter
    assert sorted(parameter.__all__) == sorted(torch_parameter.__all__)
    for name in parameter.__all__:
        assert hasattr(parameter, name)


@pytest.mark.parametrize("name", ["UninitializedParameter", "UninitializedBuffer", "UninitializedTensorMixin",
                                  "is_lazy"])
def test_one_object_under_every_name(name):
    found = getattr(parameter, name)
    assert getattr(lazy, name, found) is found   # where the lazy modules' file has the name, the same object
    if hasattr(torch.nn, name):   # torch.nn exports the two classes, not the mixin or is_lazy
        assert getattr(juanji.nn, name) is found
    assert found.__module__ == "juanji.nn.parameter"


@pytest.mark.parametrize("name,bases", [
    ("UninitializedParameter", ["UninitializedTensorMixin", "Parameter"]),
    ("UninitializedBuffer", ["UninitializedTensorMixin", "Tensor"]),
])
def test_class_layout_is_torchs(name, bases):
    torch_class = getattr(torch.nn.parameter, name)
    assert [b.__name__ for b in torch_class.__bases__] == bases
    assert [b.__name__ for b in getattr(parameter, name).__bases__] == bases
    assert issubclass(parameter.UninitializedParameter, parameter.Parameter)
    assert not issubclass(parameter.UninitializedBuffer, parameter.Parameter)


@pytest.mark.parametrize("name", ["UninitializedParameter", "UninitializedBuffer"])
def test_made_directly_they_behave_as_torchs(name):
    results = {}
    for lib in (juanji, torch):
        cls = getattr(lib.nn.parameter, name)
        t = cls(dtype=lib.float64)
        before = (repr(t), lib.nn.parameter.is_lazy(t), t.dtype == lib.float64, t.requires_grad)
        with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized parameter or buffer"):
            t.shape
        t.materialize((2, 3))
        after = (type(t).__name__, tuple(t.shape), lib.nn.parameter.is_lazy(t), t.dtype == lib.float64,
                 t.requires_grad)
        results[lib] = before, after
    assert results[juanji] == results[torch]


def test_is_lazy_is_false_for_ordinary_tensors_and_parameters():
    for lib in (juanji, torch):
        assert not lib.nn.parameter.is_lazy(lib.zeros(2))
        assert not lib.nn.parameter.is_lazy(lib.nn.Parameter(lib.zeros(2)))
        assert lib.nn.parameter.is_lazy(lib.nn.LazyLinear(3).weight)


def test_a_lazy_layers_parameter_is_the_parameter_modules_class_and_pickles():
    layer = juanji.nn.LazyLinear(3)
    assert type(layer.weight) is parameter.UninitializedParameter
    again = pickle.loads(pickle.dumps(layer.weight))
    assert type(again) is parameter.UninitializedParameter and again.dtype == layer.weight.dtype
