"""Containers (Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict), Identity,
Flatten and Unflatten against torch: the same operations on both must leave the same names,
printed forms, results and errors."""

from collections import OrderedDict

import numpy as np
import pytest

import juanji
import juanji.nn as nn
from juanji.autograd.gradcheck import gradcheck
from tests.helpers import compare_with_torch, random_array

torch = pytest.importorskip("torch")


def _norm(text) -> str:
    return str(text).replace("torch.", "juanji.")


def _layers(lib, n=4):
    """Distinguishable layers: Linear(k, k + 1) for k = 1..n."""
    return [lib.nn.Linear(k, k + 1) for k in range(1, n + 1)]


def _describe(container):
    """Names and layer shapes: what two containers must agree on."""
    return [(name, getattr(m, "in_features", None)) for name, m in container.named_children()], _norm(repr(container))


def _both(fn):
    """Run ``fn(lib)`` for both libraries; return (juanji result, torch result)."""
    return fn(juanji), fn(torch)


def _same_error(fn, exc):
    with pytest.raises(exc) as t_err:
        fn(torch)
    with pytest.raises(exc) as j_err:
        fn(juanji)
    assert _norm(j_err.value) == _norm(t_err.value)


# ---------------------------------------------------------------------------------- Sequential
@pytest.mark.parametrize("operation", [
    "build", "ordered", "index_neg", "slice", "slice_step", "setitem", "delitem", "delitem_neg", "delslice",
    "append", "insert", "insert_neg", "insert_end", "extend", "pop", "add", "iadd", "mul", "rmul", "imul",
])
def test_sequential_operations_match_torch(operation):
    def run(lib):
        seq = lib.nn.Sequential(*_layers(lib))
        if operation == "ordered":
            seq = lib.nn.Sequential(OrderedDict([("a", lib.nn.Linear(1, 2)), ("b", lib.nn.ReLU())]))
        elif operation == "index_neg":
            return _describe(lib.nn.Sequential(seq[-1], seq[0]))
        elif operation == "slice":
            sub = seq[1:3]
            assert isinstance(sub, lib.nn.Sequential) and sub[0] is seq[1]  # shares the modules
            return _describe(sub)
        elif operation == "slice_step":
            return _describe(seq[::-2])
        elif operation == "setitem":
            seq[-2] = lib.nn.Tanh()
        elif operation == "delitem":
            del seq[1]
        elif operation == "delitem_neg":
            del seq[-1]
        elif operation == "delslice":
            del seq[::2]
        elif operation == "append":
            assert seq.append(lib.nn.ReLU()) is seq
        elif operation == "insert":
            seq.insert(1, lib.nn.ReLU())
        elif operation == "insert_neg":
            seq.insert(-1, lib.nn.ReLU())
        elif operation == "insert_end":
            seq.insert(len(seq), lib.nn.ReLU())
        elif operation == "extend":
            seq.extend([lib.nn.ReLU(), lib.nn.Tanh()])
        elif operation == "pop":
            popped = seq.pop(1)
            assert popped.in_features == 2
        elif operation == "add":
            seq = seq + lib.nn.Sequential(lib.nn.ReLU())
        elif operation == "iadd":
            seq += lib.nn.Sequential(lib.nn.ReLU())
        elif operation == "mul":
            seq = seq[:2] * 2
        elif operation == "rmul":
            seq = 2 * seq[:2]
        elif operation == "imul":
            seq = seq[:2]
            seq *= 3
        return _describe(seq), len(seq), [type(m).__name__ for m in seq]

    j, t = _both(run)
    assert j == t


@pytest.mark.parametrize("operation,exc", [
    ("index", IndexError), ("index_neg", IndexError), ("insert_far", IndexError), ("insert_not_module", AssertionError),
    ("add_list", ValueError), ("mul_zero", ValueError), ("mul_float", TypeError), ("index_str", TypeError),
])
def test_sequential_errors_match_torch(operation, exc):
    def run(lib):
        seq = lib.nn.Sequential(*_layers(lib, 2))
        if operation == "index":
            seq[2]
        elif operation == "index_neg":
            seq[-3]
        elif operation == "insert_far":
            seq.insert(5, lib.nn.ReLU())
        elif operation == "insert_not_module":
            seq.insert(0, 3)
        elif operation == "add_list":
            seq + [lib.nn.ReLU()]
        elif operation == "mul_zero":
            seq * 0
        elif operation == "mul_float":
            seq * 1.5
        elif operation == "index_str":
            seq["0"]
    if operation in ("insert_not_module", "index_str"):  # messages name the library's classes
        for lib in (torch, juanji):
            with pytest.raises(exc):
                run(lib)
        return
    _same_error(run, exc)


def test_sequential_forward_chains_modules_and_matches_torch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    jseq = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2), nn.Identity(), nn.Flatten(0))
    tseq = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2), torch.nn.Identity(),
                               torch.nn.Flatten(0))
    jseq.load_state_dict({k: juanji.tensor(v.numpy()) for k, v in tseq.state_dict().items()})
    jx, tx = juanji.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    jy, ty = jseq(jx), tseq(tx)
    np.testing.assert_allclose(jy.detach().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    jy.pow(2).sum().backward()
    ty.pow(2).sum().backward()
    np.testing.assert_allclose(jx.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(jseq[0].weight.grad.numpy(), tseq[0].weight.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_empty_sequential_is_the_identity():
    x = juanji.ones(2)
    assert nn.Sequential()(x) is x
    assert repr(nn.Sequential()) == repr(torch.nn.Sequential())


def test_sequential_dir_hides_numbered_children():
    seq = nn.Sequential(nn.ReLU())
    assert "0" not in dir(seq) and "append" in dir(seq)


# ---------------------------------------------------------------------------------- ModuleList
@pytest.mark.parametrize("operation", [
    "build", "empty", "index_neg", "slice", "setitem", "delitem", "delslice", "append", "insert", "extend",
    "pop", "add", "iadd", "repeats",
])
def test_module_list_operations_match_torch(operation):
    def run(lib):
        ml = lib.nn.ModuleList(_layers(lib))
        if operation == "empty":
            ml = lib.nn.ModuleList()
        elif operation == "index_neg":
            return ml[-1].in_features, ml[-4].in_features
        elif operation == "slice":
            ml = ml[1::2]
        elif operation == "setitem":
            ml[-1] = lib.nn.ReLU()
        elif operation == "delitem":
            del ml[0]
        elif operation == "delslice":
            del ml[1:3]
        elif operation == "append":
            ml.append(lib.nn.ReLU())
        elif operation == "insert":
            ml.insert(2, lib.nn.ReLU())
        elif operation == "extend":
            ml.extend(lib.nn.Sequential(lib.nn.ReLU(), lib.nn.Tanh()))
        elif operation == "pop":
            ml.pop(-2)
        elif operation == "add":
            ml = ml + [lib.nn.ReLU()]
        elif operation == "iadd":
            ml += [lib.nn.ReLU()]
        elif operation == "repeats":  # printed compressed: (1-3): 3 x ReLU()
            ml = lib.nn.ModuleList([lib.nn.Linear(1, 2)] + [lib.nn.ReLU() for _ in range(3)] + [lib.nn.Tanh()] * 2)
        return _describe(ml), len(ml), type(ml).__name__

    j, t = _both(run)
    assert j == t


def test_module_list_errors_match_torch():
    _same_error(lambda lib: lib.nn.ModuleList([lib.nn.ReLU()])[1], IndexError)
    _same_error(lambda lib: lib.nn.ModuleList().extend(3), TypeError)
    _same_error(lambda lib: lib.nn.ModuleList([3]), TypeError)


def test_module_list_registers_parameters_for_the_optimiser():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(list(ml.parameters())) == 6
    assert [n for n, _ in ml.named_parameters()][:2] == ["0.weight", "0.bias"]
    with pytest.raises(NotImplementedError):
        ml(juanji.zeros(2))


# ---------------------------------------------------------------------------------- ModuleDict
@pytest.mark.parametrize("operation", [
    "dict", "ordered", "pairs", "setitem", "delitem", "pop", "clear", "update_dict", "update_moduledict",
    "update_pairs", "views",
])
def test_module_dict_operations_match_torch(operation):
    def run(lib):
        md = lib.nn.ModuleDict({"z": lib.nn.Linear(1, 2), "a": lib.nn.Linear(2, 3)})
        if operation == "ordered":
            md = lib.nn.ModuleDict(OrderedDict([("z", lib.nn.ReLU()), ("a", lib.nn.Tanh())]))
        elif operation == "pairs":
            md = lib.nn.ModuleDict([("q", lib.nn.ReLU()), ("b", lib.nn.Tanh())])
        elif operation == "setitem":
            md["new"] = lib.nn.ReLU()
            md["z"] = lib.nn.Tanh()
        elif operation == "delitem":
            del md["z"]
        elif operation == "pop":
            assert md.pop("a").in_features == 2
        elif operation == "clear":
            md.clear()
        elif operation == "update_dict":
            md.update({"m": lib.nn.ReLU(), "b": lib.nn.Tanh()})
        elif operation == "update_moduledict":
            md.update(lib.nn.ModuleDict({"m": lib.nn.ReLU()}))
        elif operation == "update_pairs":
            md.update([["m", lib.nn.ReLU()], ("b", lib.nn.Tanh())])
        elif operation == "views":
            return list(md.keys()), [type(v).__name__ for v in md.values()], [k for k, _ in md.items()], \
                list(md), "a" in md, "q" in md, len(md)
        return _describe(md), len(md)

    j, t = _both(run)
    assert j == t


def test_module_dict_errors_match_torch():
    _same_error(lambda lib: lib.nn.ModuleDict(3), TypeError)
    _same_error(lambda lib: lib.nn.ModuleDict([3]), TypeError)
    _same_error(lambda lib: lib.nn.ModuleDict([("a", lib.nn.ReLU(), 1)]), ValueError)
    _same_error(lambda lib: lib.nn.ModuleDict({"a.b": lib.nn.ReLU()}), KeyError)
    with pytest.raises(KeyError):
        nn.ModuleDict()["missing"]


# ---------------------------------------------------------------------------------- ParameterList / Dict
def test_parameter_list_wraps_tensors_and_matches_torch():
    def run(lib):
        pl = lib.nn.ParameterList([lib.zeros(2, 3), lib.nn.Parameter(lib.ones(2))])
        pl.append(lib.zeros(4))
        pl.extend([lib.ones(1, 1)])
        pl += [lib.zeros(5)]
        pl[0] = lib.ones(2, 3)
        pl.append("not a tensor")
        sub = pl[1:3]
        kinds = [type(p).__name__ if not isinstance(p, lib.Tensor) else isinstance(p, lib.nn.Parameter) for p in pl]
        return (_norm(repr(pl)), len(pl), kinds, [n for n, _ in pl.named_parameters()], len(sub),
                float(pl[-2].detach().sum()), _norm(repr(sub)))

    j, t = _both(run)
    assert j == t


def test_parameter_list_errors_match_torch():
    _same_error(lambda lib: lib.nn.ParameterList([lib.zeros(1)])[1], IndexError)
    _same_error(lambda lib: lib.nn.ParameterList().extend(lib.zeros(2)), TypeError)
    _same_error(lambda lib: lib.nn.ParameterList()(1), RuntimeError)


def test_parameter_dict_wraps_tensors_and_matches_torch():
    def run(lib):
        pd = lib.nn.ParameterDict({"z": lib.zeros(2), "a": lib.nn.Parameter(lib.ones(3))})  # sorted keys
        pd["m"] = lib.zeros(1, 2)
        pd.update([("b", lib.ones(1))])
        pd.update(OrderedDict([("y", lib.ones(2)), ("c", lib.ones(2))]))
        pd.setdefault("s", lib.zeros(3))
        pd["note"] = "text"
        popped = pd.pop("m")
        key, _ = pd.popitem()
        copy = pd.copy()
        merged = pd | lib.nn.ParameterDict({"q": lib.zeros(1)})
        return (_norm(repr(pd)), list(pd.keys()), [n for n, _ in pd.named_parameters()], tuple(popped.shape), key,
                list(copy.keys()), list(merged.keys()), "a" in pd, pd.get("missing", 7), list(reversed(pd)),
                len(pd), isinstance(pd["a"], lib.nn.Parameter))

    j, t = _both(run)
    assert j == t


def test_parameter_dict_errors_match_torch():
    _same_error(lambda lib: lib.nn.ParameterDict()[3], TypeError)
    _same_error(lambda lib: lib.nn.ParameterDict(3), TypeError)
    _same_error(lambda lib: lib.nn.ParameterDict([("a", lib.zeros(1), 1)]), ValueError)
    _same_error(lambda lib: lib.nn.ParameterDict()(1), RuntimeError)


def test_container_state_dict_keys_match_torch():
    def run(lib):
        model = lib.nn.Module()
        model.seq = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Sequential(lib.nn.Linear(2, 1)))
        model.ml = lib.nn.ModuleList([lib.nn.Linear(1, 1)])
        model.md = lib.nn.ModuleDict({"x": lib.nn.Linear(1, 1)})
        model.pl = lib.nn.ParameterList([lib.zeros(2)])
        model.pd = lib.nn.ParameterDict({"w": lib.zeros(2)})
        return list(model.state_dict()), _norm(repr(model))

    j, t = _both(run)
    assert j == t


# ---------------------------------------------------------------------------------- Identity / Flatten / Unflatten
def test_identity_ignores_arguments_and_returns_input():
    x = juanji.ones(2)
    assert nn.Identity(54, unused="x")(x) is x
    assert repr(nn.Identity(3)) == repr(torch.nn.Identity(3))


FLATTEN_CASES = [((2, 3, 4, 5), 1, -1), ((2, 3, 4, 5), 0, -1), ((2, 3, 4, 5), 1, 2), ((2, 3, 4, 5), -3, -2),
                 ((2, 3), 1, -1), ((4,), 0, -1), ((2, 1, 3), 2, 2), ((3, 0, 2), 1, -1)]


@pytest.mark.parametrize("shape,start,end", FLATTEN_CASES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_flatten_matches_torch(shape, start, end, dtype):
    x = random_array(shape, dtype)
    compare_with_torch(lambda t: nn.Flatten(start, end)(t), lambda t: torch.nn.Flatten(start, end)(t), [x])


@pytest.mark.parametrize("shape,dim,sizes", [((2, 12), 1, (3, 4)), ((2, 12), -1, (2, -1, 3)), ((6, 5), 0, [2, 3]),
                                             ((2, 3, 4), 1, (3, 1)), ((4,), 0, (2, 2))])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_unflatten_matches_torch(shape, dim, sizes, dtype):
    x = random_array(shape, dtype)
    compare_with_torch(lambda t: nn.Unflatten(dim, sizes)(t), lambda t: torch.nn.Unflatten(dim, sizes)(t), [x])


def test_flatten_unflatten_reprs_match_torch():
    assert repr(nn.Flatten()) == repr(torch.nn.Flatten())
    assert repr(nn.Flatten(0, 2)) == repr(torch.nn.Flatten(0, 2))
    assert repr(nn.Unflatten(1, (2, 3))) == repr(torch.nn.Unflatten(1, (2, 3)))
    assert repr(nn.Unflatten(-1, [4, 5])) == repr(torch.nn.Unflatten(-1, [4, 5]))


def test_unflatten_argument_errors_match_torch():
    _same_error(lambda lib: lib.nn.Unflatten(1, 6), TypeError)
    _same_error(lambda lib: lib.nn.Unflatten(1, (2, 3.0)), TypeError)
    with pytest.raises(RuntimeError):
        nn.Unflatten(1, (4, 4))(juanji.zeros(2, 12))
    with pytest.raises(IndexError):
        nn.Flatten(3)(juanji.zeros(2, 3))


def test_flatten_gradcheck():
    x = juanji.tensor(random_array((2, 3, 4), "float64"), requires_grad=True)
    assert gradcheck(lambda t: nn.Flatten()(t) * 2, [x])
    assert gradcheck(lambda t: nn.Unflatten(1, (4, 3))(nn.Flatten()(t)), [x])
