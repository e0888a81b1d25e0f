"""nn.Module and nn.Parameter against torch: registration, tree walks, state_dict, hooks, printing.

Most tests build the *same* model in juanji and in torch with one builder function that takes
the library as an argument, then compare what both report (names, keys, printed form, errors).
"""

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import juanji
import juanji.nn as nn

torch = pytest.importorskip("torch")

# torch (and juanji) warn when a full backward hook fires from the outputs (no input requires grad)
pytestmark = pytest.mark.filterwarnings("ignore:Full backward hook is firing")


def _norm(text: str) -> str:
    """torch's and juanji's texts differ only in the library name."""
    return str(text).replace("torch.", "juanji.").replace("torch ", "juanji ")


# ---------------------------------------------------------------------------------- builders
def build_block(lib):
    """A custom module with a parameter, a persistent and a non-persistent buffer and children."""

    class Block(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = lib.nn.Parameter(lib.ones(3))
            self.register_buffer("running", lib.zeros(3))
            self.register_buffer("scratch", lib.zeros(2), persistent=False)
            self.fc = lib.nn.Linear(3, 3)
            self.act = lib.nn.ReLU()

        def forward(self, x):
            return self.act(self.fc(x)) * self.scale + self.running

    return Block()


def build_model(lib):
    """A nested model touching every container: Sequential (positional and OrderedDict),
    ModuleList with repeats, ModuleDict, custom blocks, a bias-less Linear and an Embedding."""

    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = lib.nn.Embedding(10, 3, padding_idx=0)
            self.features = lib.nn.Sequential(
                lib.nn.Linear(3, 3), lib.nn.ReLU(), build_block(lib), lib.nn.Linear(3, 3, bias=False))
            self.heads = lib.nn.ModuleList([lib.nn.Linear(3, 2) for _ in range(3)] + [lib.nn.Tanh()])
            self.named = lib.nn.Sequential(OrderedDict([("first", lib.nn.Linear(2, 2)), ("flat", lib.nn.Flatten())]))
            self.choice = lib.nn.ModuleDict({"b": lib.nn.Linear(4, 1), "a": lib.nn.Identity()})
            self.register_buffer("steps", lib.tensor(0))

        def forward(self, idx):
            h = self.features(self.embed(idx))
            outs = [head(h) for head in self.heads[:3]]
            return self.choice["b"](self.named(outs[0] + outs[1] + outs[2]))

    return Net()


def copy_weights(jm, tm):
    """Give the juanji model torch's values (through load_state_dict)."""
    jm.load_state_dict({k: juanji.tensor(v.detach().numpy().copy()) for k, v in tm.state_dict().items()})


# ---------------------------------------------------------------------------------- Parameter / Buffer
def test_parameter_defaults_repr_and_memory_sharing():
    data = juanji.tensor([1.0, 2.0])
    p = nn.Parameter(data)
    assert p.requires_grad and p.is_leaf and isinstance(p, juanji.Tensor)
    assert repr(p) == repr(torch.nn.Parameter(torch.tensor([1.0, 2.0])))
    p.data[0] = 5.0  # shares memory with the tensor it wraps, as in torch
    assert data.tolist() == [5.0, 2.0]
    empty = nn.Parameter()
    assert tuple(empty.shape) == (0,) and empty.requires_grad
    frozen = nn.Parameter(juanji.zeros(2), requires_grad=False)
    assert not frozen.requires_grad


def test_parameter_refuses_integer_dtype_like_torch():
    with pytest.raises(RuntimeError) as t_err:
        torch.nn.Parameter(torch.zeros(2, dtype=torch.long))
    with pytest.raises(RuntimeError) as j_err:
        nn.Parameter(juanji.zeros(2, dtype=juanji.int64))
    assert str(j_err.value) == str(t_err.value)
    assert repr(nn.Parameter(juanji.zeros(2, dtype=juanji.int64), requires_grad=False)) == \
        repr(torch.nn.Parameter(torch.zeros(2, dtype=torch.long), requires_grad=False))


def test_parameter_survives_deepcopy_and_pickle():
    p = nn.Parameter(juanji.tensor([1.0, 2.0]))
    p.grad = juanji.tensor([0.5, 0.5])
    q = copy.deepcopy(p)
    assert isinstance(q, nn.Parameter) and q.requires_grad and q.grad.tolist() == [0.5, 0.5]
    q.data[0] = 9.0
    assert p.tolist() == [1.0, 2.0]
    r = pickle.loads(pickle.dumps(p))
    assert isinstance(r, nn.Parameter) and r.tolist() == [1.0, 2.0] and r.requires_grad


def test_buffer_marks_a_tensor_and_registers_on_assignment():
    b = nn.Buffer(juanji.zeros(2), persistent=False)
    assert isinstance(b, nn.Buffer) and b.persistent is False
    assert not isinstance(juanji.zeros(2), nn.Buffer)
    for lib in (juanji, torch):
        m = lib.nn.Module()
        m.a = lib.nn.Buffer(lib.zeros(2))
        m.b = lib.nn.Buffer(lib.zeros(2), persistent=False)
        assert [n for n, _ in m.named_buffers()] == ["a", "b"]
        assert list(m.state_dict()) == ["a"]
        m.a = lib.ones(2)  # a plain tensor assigned to an existing buffer name replaces the buffer
        assert m._buffers["a"].tolist() == [1.0, 1.0]


# ---------------------------------------------------------------------------------- registration
def test_named_walks_match_torch_for_a_nested_model():
    jm, tm = build_model(juanji), build_model(torch)
    assert [n for n, _ in jm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert [n for n, _ in jm.named_buffers()] == [n for n, _ in tm.named_buffers()]
    assert [n for n, _ in jm.named_modules()] == [n for n, _ in tm.named_modules()]
    assert [n for n, _ in jm.named_children()] == [n for n, _ in tm.named_children()]
    assert [type(m).__name__ for m in jm.modules()] == [type(m).__name__ for m in tm.modules()]
    assert [type(m).__name__ for m in jm.children()] == [type(m).__name__ for m in tm.children()]
    assert [n for n, _ in jm.named_parameters(prefix="model")] == [n for n, _ in tm.named_parameters(prefix="model")]
    assert [n for n, _ in jm.named_parameters(recurse=False)] == [n for n, _ in tm.named_parameters(recurse=False)]
    assert [n for n, _ in jm.features.named_buffers(recurse=False)] == []
    assert [tuple(p.shape) for p in jm.parameters()] == [tuple(p.shape) for p in tm.parameters()]


def test_shared_modules_and_parameters_are_listed_once_unless_asked():
    for lib in (juanji, torch):
        shared = lib.nn.Linear(2, 2)
        seq = lib.nn.Sequential(shared, lib.nn.ReLU(), shared)
        seq.extra = lib.nn.Linear(2, 2)
        seq.extra.weight = shared.weight
        names = [n for n, _ in seq.named_parameters()]
        all_names = [n for n, _ in seq.named_parameters(remove_duplicate=False)]
        modules = [n for n, _ in seq.named_modules()]
        all_modules = [n for n, _ in seq.named_modules(remove_duplicate=False)]
        if lib is torch:
            assert (names, all_names, modules, all_modules) == j_result
        else:
            j_result = (names, all_names, modules, all_modules)
    assert j_result[0] == ["0.weight", "0.bias", "extra.bias"]


def test_attribute_assignment_moves_between_registries():
    m = nn.Module()
    m.x = nn.Parameter(juanji.zeros(1))
    assert "x" in m._parameters
    m.x = None  # allowed: a declared-but-absent parameter
    assert m._parameters["x"] is None and m.x is None
    m.child = nn.Linear(1, 1)
    m.child = None
    assert m._modules["child"] is None
    m.register_buffer("buf", juanji.zeros(1))
    m.buf = juanji.ones(1)
    assert m._buffers["buf"].tolist() == [1.0]
    m.plain = 3
    assert m.plain == 3 and "plain" not in m._parameters
    del m.x, m.buf, m.child, m.plain
    assert not m._parameters and not m._buffers and not m._modules
    m.thing = juanji.zeros(1)  # a plain tensor attribute is not registered
    assert list(m.state_dict()) == []


def _same_error(fn_j, fn_t, exc):
    with pytest.raises(exc) as t_err:
        fn_t()
    with pytest.raises(exc) as j_err:
        fn_j()
    assert _norm(j_err.value) == _norm(t_err.value)


@pytest.mark.parametrize("case", [
    "param_wrong_type", "module_wrong_type", "param_name_dot", "param_name_empty", "param_name_not_str",
    "param_exists", "buffer_wrong_type", "buffer_name_dot", "buffer_exists", "add_module_not_module",
    "add_module_dot", "add_module_empty", "add_module_exists", "non_leaf_param", "getattr_missing",
])
def test_registration_errors_match_torch(case):
    def run(lib):
        m = lib.nn.Linear(2, 2)
        m.other = 1
        if case == "param_wrong_type":
            m.weight = lib.zeros(2)
        elif case == "module_wrong_type":
            m.sub = lib.nn.Linear(1, 1)
            m.sub = 3
        elif case == "param_name_dot":
            m.register_parameter("a.b", None)
        elif case == "param_name_empty":
            m.register_parameter("", None)
        elif case == "param_name_not_str":
            m.register_parameter(3, None)
        elif case == "param_exists":
            m.register_parameter("other", None)
        elif case == "buffer_wrong_type":
            m.register_buffer("b", [1, 2])
        elif case == "buffer_name_dot":
            m.register_buffer("a.b", None)
        elif case == "buffer_exists":
            m.register_buffer("other", None)
        elif case == "add_module_not_module":
            m.add_module("x", 3)
        elif case == "add_module_dot":
            m.add_module("a.b", lib.nn.ReLU())
        elif case == "add_module_empty":
            m.add_module("", lib.nn.ReLU())
        elif case == "add_module_exists":
            m.add_module("other", lib.nn.ReLU())
        elif case == "non_leaf_param":
            w = lib.zeros(2, requires_grad=True)
            m.register_parameter("w", (w * 2))
        elif case == "getattr_missing":
            m.nothing_here
    with pytest.raises(Exception) as t_err:
        run(torch)
    with pytest.raises(type(t_err.value)) as j_err:
        run(juanji)
    if case == "non_leaf_param":  # torch checks the type first: a product is not a Parameter
        return
    assert _norm(j_err.value) == _norm(t_err.value)


def test_assigning_before_init_is_an_error():
    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(juanji.zeros(1))

    class TorchEarly(torch.nn.Module):
        def __init__(self):
            self.w = torch.nn.Parameter(torch.zeros(1))

    _same_error(Early, TorchEarly, AttributeError)


def test_register_module_alias_and_dir():
    m = nn.Module()
    m.register_module("fc", nn.Linear(2, 2))
    m.register_parameter("p", nn.Parameter(juanji.zeros(1)))
    assert m.fc is m._modules["fc"]
    assert {"fc", "p", "forward", "training"} <= set(dir(m))


def test_get_submodule_parameter_buffer_match_torch():
    jm, tm = build_model(juanji), build_model(torch)
    assert type(jm.get_submodule("features.2.fc")).__name__ == "Linear"
    assert jm.get_submodule("") is jm
    assert jm.get_parameter("features.2.scale") is jm.features[2].scale
    assert jm.get_buffer("features.2.running") is jm.features[2].running
    for target in ("features.9", "features.2.scale.x", "features.2.nothing", "heads.0.weight.x"):
        _same_error(lambda: jm.get_submodule(target), lambda: tm.get_submodule(target), AttributeError)
    for target in ("features.2.fc", "features.2.running", "features.2.missing"):
        _same_error(lambda: jm.get_parameter(target), lambda: tm.get_parameter(target), AttributeError)
    for target in ("features.2.scale", "features.2.missing"):
        _same_error(lambda: jm.get_buffer(target), lambda: tm.get_buffer(target), AttributeError)


def test_forward_missing_raises_not_implemented():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(juanji.zeros(1))


def test_unexpected_init_arguments_raise():
    with pytest.raises(TypeError):
        nn.Module(3)


# ---------------------------------------------------------------------------------- modes / grads
def test_train_eval_propagate_and_check_type():
    jm = build_model(juanji)
    assert jm.training and all(m.training for m in jm.modules())
    assert jm.eval() is jm
    assert not any(m.training for m in jm.modules())
    jm.train()
    assert all(m.training for m in jm.modules())
    _same_error(lambda: jm.train("yes"), lambda: build_model(torch).train("yes"), ValueError)


def test_zero_grad_to_none_and_to_zeros():
    m = nn.Linear(3, 2)
    m(juanji.randn(4, 3)).sum().backward()
    m.zero_grad(set_to_none=False)
    assert m.weight.grad is not None and not np.any(m.weight.grad.numpy())
    m.zero_grad()
    assert m.weight.grad is None and m.bias.grad is None


def test_requires_grad_freezes_parameters():
    m = build_model(juanji)
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    m.features.requires_grad_()
    assert all(p.requires_grad for p in m.features.parameters())


def test_apply_visits_children_first_like_torch():
    seen_j, seen_t = [], []
    build_model(juanji).apply(lambda m: seen_j.append(type(m).__name__))
    build_model(torch).apply(lambda m: seen_t.append(type(m).__name__))
    assert seen_j == seen_t


def test_apply_initialises_weights():
    m = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 2))

    def init(module):
        if isinstance(module, nn.Linear):
            nn.init.constant_(module.weight, 0.5)
            nn.init.zeros_(module.bias)
    m.apply(init)
    assert np.all(m[0].weight.detach().numpy() == 0.5) and np.all(m[2].bias.detach().numpy() == 0)


# ---------------------------------------------------------------------------------- dtype / device
def test_to_double_keeps_parameter_identity_and_integer_buffers():
    m = build_model(juanji)
    weight = m.features[0].weight
    m(juanji.tensor([[1, 2]])).sum().backward()
    assert m.double() is m
    assert m.features[0].weight is weight  # an optimiser built before .double() still holds it
    assert weight.dtype is juanji.float64 and weight.grad.dtype is juanji.float64
    assert m.steps.dtype is juanji.int64  # integer buffers keep their dtype
    assert m.features[2].running.dtype is juanji.float64
    out = m(juanji.tensor([[1, 2]]))
    assert out.dtype is juanji.float64
    m.float()
    assert weight.dtype is juanji.float32
    m.to(juanji.float64)
    assert weight.dtype is juanji.float64
    m.to("cpu", dtype=juanji.float32)
    assert weight.dtype is juanji.float32 and m.cpu() is m
    m.to(juanji.zeros(1, dtype=juanji.float64))
    assert weight.dtype is juanji.float64


def test_to_integer_dtype_is_refused_like_torch():
    _same_error(lambda: nn.Linear(2, 2).to(juanji.int64), lambda: torch.nn.Linear(2, 2).to(torch.int64), TypeError)


# ---------------------------------------------------------------------------------- state_dict
def test_state_dict_keys_and_values_match_torch():
    jm, tm = build_model(juanji), build_model(torch)
    assert list(jm.state_dict()) == list(tm.state_dict())
    copy_weights(jm, tm)
    for (jk, jv), (tk, tv) in zip(jm.state_dict().items(), tm.state_dict().items()):
        assert jk == tk
        np.testing.assert_array_equal(jv.numpy(), tv.numpy())
    sd = jm.state_dict()
    assert not any(v.requires_grad for v in sd.values())  # detached
    assert isinstance(sd, OrderedDict)
    kept = jm.state_dict(keep_vars=True)
    assert kept["features.0.weight"] is jm.features[0].weight
    assert list(jm.state_dict(prefix="net.")) == list(tm.state_dict(prefix="net."))


def test_loaded_model_computes_what_torch_computes():
    jm, tm = build_model(juanji), build_model(torch)
    copy_weights(jm, tm)
    idx = np.array([[1, 2], [0, 9]])
    np.testing.assert_allclose(jm(juanji.tensor(idx)).detach().numpy(),
                               tm(torch.tensor(idx)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_load_state_dict_copies_into_existing_parameters():
    src, dst = nn.Linear(3, 2), nn.Linear(3, 2)
    weight = dst.weight
    result = dst.load_state_dict(src.state_dict())
    assert dst.weight is weight and np.array_equal(weight.numpy(force=True), src.weight.numpy(force=True))
    assert repr(result) == repr(torch.nn.Linear(3, 2).load_state_dict(torch.nn.Linear(3, 2).state_dict()))
    assert result.missing_keys == [] and result.unexpected_keys == []


def test_load_state_dict_with_assign_replaces_parameters():
    src, dst = nn.Linear(3, 2), nn.Linear(3, 2)
    dst.load_state_dict(src.state_dict(), assign=True)
    assert isinstance(dst.weight, nn.Parameter) and dst.weight.requires_grad
    assert np.array_equal(dst.weight.numpy(force=True), src.weight.numpy(force=True))


def _broken_state_dicts(lib, model):
    sd = OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items())
    del sd["features.0.bias"]
    del sd["steps"]
    sd["features.0.extra"] = lib.zeros(1)
    sd["nonsense.weight"] = lib.zeros(1)
    sd["heads.1.weight"] = lib.zeros(5, 5)
    sd["embed.weight"] = lib.zeros(3, 3)
    return sd


def test_load_state_dict_lists_every_problem_in_torch_words():
    jm, tm = build_model(juanji), build_model(torch)
    with pytest.raises(RuntimeError) as t_err:
        tm.load_state_dict(_broken_state_dicts(torch, tm))
    with pytest.raises(RuntimeError) as j_err:
        jm.load_state_dict(_broken_state_dicts(juanji, jm))
    assert _norm(j_err.value) == _norm(t_err.value)
    text = str(j_err.value)
    assert text.startswith("Error(s) in loading state_dict for Net:")
    assert "Missing key(s)" in text and "Unexpected key(s)" in text and "size mismatch for heads.1.weight" in text


def test_load_state_dict_non_strict_reports_keys_like_torch():
    jm, tm = build_model(juanji), build_model(torch)
    jsd, tsd = _broken_state_dicts(juanji, jm), _broken_state_dicts(torch, tm)
    for sd in (jsd, tsd):  # shape mismatches raise even with strict=False: drop them
        del sd["heads.1.weight"], sd["embed.weight"]
    jres, tres = jm.load_state_dict(jsd, strict=False), tm.load_state_dict(tsd, strict=False)
    assert jres.missing_keys == tres.missing_keys and jres.unexpected_keys == tres.unexpected_keys
    assert repr(jres) == repr(tres)


def test_load_state_dict_size_mismatch_raises_even_when_not_strict():
    jm, tm = nn.Linear(2, 2), torch.nn.Linear(2, 2)
    _same_error(lambda: jm.load_state_dict({"weight": juanji.zeros(3, 2)}, strict=False),
                lambda: tm.load_state_dict({"weight": torch.zeros(3, 2)}, strict=False), RuntimeError)


def test_load_state_dict_refuses_non_mappings_and_non_tensors():
    _same_error(lambda: nn.Linear(2, 2).load_state_dict([1]), lambda: torch.nn.Linear(2, 2).load_state_dict([1]),
                TypeError)
    # torch says "expected torch.Tensor or Tensor-like object ... but received <class 'list'>"; juanji
    # takes arrays of any framework and says what it takes (tests/nn/test_load_state_dict_sources.py)
    with pytest.raises(RuntimeError, match='"weight": expected a juanji Tensor, a NumPy array .* got builtins.list'):
        nn.Linear(2, 2).load_state_dict({"weight": [[1.0, 2.0]] * 2, "bias": juanji.zeros(2)})


def test_state_dict_survives_save_and_load(tmp_path):
    m = build_model(juanji)
    path = tmp_path / "model.pt"
    juanji.save(m.state_dict(), path)
    fresh = build_model(juanji)
    fresh.load_state_dict(juanji.load(path))
    for (k, a), (_, b) in zip(m.state_dict().items(), fresh.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)


def test_extra_state_round_trip():
    class WithState(nn.Module):
        def __init__(self):
            super().__init__()
            self.note = "a"

        def get_extra_state(self):
            return {"note": self.note}

        def set_extra_state(self, state):
            self.note = state["note"]

    m = WithState()
    m.note = "b"
    sd = m.state_dict()
    assert list(sd) == ["_extra_state"]
    other = WithState()
    other.load_state_dict(sd)
    assert other.note == "b"


def test_state_dict_and_load_hooks_run():
    m = nn.Linear(2, 2)
    calls = []
    m.register_state_dict_pre_hook(lambda mod, prefix, keep: calls.append(("pre", prefix)))
    m.register_load_state_dict_post_hook(lambda mod, keys: calls.append(("post", list(keys.missing_keys))))
    m.load_state_dict(m.state_dict(prefix=""), strict=False)
    assert calls == [("pre", ""), ("post", [])]


def test_deepcopy_gives_independent_parameters():
    m = build_model(juanji)
    twin = copy.deepcopy(m)
    assert isinstance(twin.features[0].weight, nn.Parameter)
    with juanji.no_grad():
        twin.features[0].weight.fill_(0.0)
    assert np.any(m.features[0].weight.numpy(force=True))


# ---------------------------------------------------------------------------------- printing
def test_printed_form_matches_torch_for_nested_model():
    assert _norm(repr(build_model(juanji))) == _norm(repr(build_model(torch)))


def test_printed_form_of_plain_and_extra_repr_modules():
    class Custom(nn.Module):
        def extra_repr(self):
            return "size=3\nmode=fast"

    class TorchCustom(torch.nn.Module):
        def extra_repr(self):
            return "size=3\nmode=fast"

    assert repr(nn.Module()) == repr(torch.nn.Module()) == "Module()"
    assert repr(Custom()).replace("Custom", "X") == repr(TorchCustom()).replace("TorchCustom", "X")
    j, t = Custom(), TorchCustom()
    j.child, t.child = nn.Linear(1, 2), torch.nn.Linear(1, 2)
    assert repr(j).replace("Custom", "X") == repr(t).replace("TorchCustom", "X")


# ---------------------------------------------------------------------------------- forward hooks
def _hooked_calls(lib):
    m = lib.nn.Linear(2, 2)
    calls = []

    def pre(mod, args):
        calls.append(("pre", tuple(a.shape for a in args)))
        return (args[0] * 2,)

    def pre_kw(mod, args, kwargs):
        calls.append(("pre_kw", sorted(kwargs)))

    def post(mod, args, out):
        calls.append(("post", tuple(out.shape)))
        return out + 1

    def first(mod, args, out):
        calls.append(("first",))

    handles = [m.register_forward_pre_hook(pre), m.register_forward_pre_hook(pre_kw, with_kwargs=True),
               m.register_forward_hook(post), m.register_forward_hook(first, prepend=True)]
    with lib.no_grad():
        m.weight.copy_(lib.tensor([[1.0, 0.0], [0.0, 1.0]]))
        m.bias.zero_()
    out = m(lib.ones(3, 2))
    for h in handles:
        h.remove()
    out_after = m(lib.ones(3, 2))
    return calls, out.detach().numpy(), out_after.detach().numpy()


def test_forward_hooks_fire_in_torch_order_and_can_replace_values():
    j_calls, j_out, j_after = _hooked_calls(juanji)
    t_calls, t_out, t_after = _hooked_calls(torch)
    assert [_norm(c) for c in j_calls] == [_norm(c) for c in t_calls]
    np.testing.assert_array_equal(j_out, t_out)       # input doubled, output + 1
    np.testing.assert_array_equal(j_after, t_after)   # hooks removed


def test_hook_handle_as_context_manager_and_always_call():
    m = nn.Linear(2, 2)
    seen = []
    with m.register_forward_hook(lambda mod, a, o: seen.append(1)):
        m(juanji.zeros(1, 2))
    m(juanji.zeros(1, 2))
    assert seen == [1]

    class Fails(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    f = Fails()
    f.register_forward_hook(lambda mod, a, o: seen.append("always"), always_call=True)
    with pytest.raises(ValueError):
        f(juanji.zeros(1))
    assert seen[-1] == "always"


def test_forward_hook_with_kwargs_sees_keyword_arguments():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    m = Scale()
    seen = []
    m.register_forward_hook(lambda mod, args, kwargs, out: seen.append(kwargs["factor"]), with_kwargs=True)
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"factor": 3.0}), with_kwargs=True)
    assert m(juanji.ones(1), factor=2.0).tolist() == [3.0]
    assert seen == [3.0]


# ---------------------------------------------------------------------------------- backward hooks
class _TwoInputs:
    """A module of two tensor inputs (and a non-tensor one) with two outputs, in either library."""

    @staticmethod
    def build(lib):
        class Mix(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = lib.nn.Linear(3, 2)

            def forward(self, a, b, scale):
                return self.fc(a) * scale + b.sum(), (a * b).sum(1)

        return Mix()


def _record_backward(lib, mod, inputs_np, requires, replace=None, pre_replace=None):
    record = {}

    def hook(module, grad_input, grad_output):
        record["grad_input"] = [None if g is None else g.detach().numpy().copy() for g in grad_input]
        record["grad_output"] = [None if g is None else g.detach().numpy().copy() for g in grad_output]
        if replace is not None:
            return tuple(None if g is None else g * replace for g in grad_input)

    def pre_hook(module, grad_output):
        record["pre"] = [None if g is None else g.detach().numpy().copy() for g in grad_output]
        if pre_replace is not None:
            return tuple(None if g is None else g * pre_replace for g in grad_output)

    mod.register_full_backward_hook(hook)
    mod.register_full_backward_pre_hook(pre_hook)
    inputs = [lib.tensor(x, requires_grad=r) for x, r in zip(inputs_np, requires)]
    out = mod(*inputs, 2.0)
    outs = out if isinstance(out, tuple) else (out,)
    loss = sum((o * (k + 1.0)).sum() for k, o in enumerate(outs))
    loss.backward()
    record["input_grads"] = [None if t.grad is None else t.grad.numpy().copy() for t in inputs]
    record["weight_grad"] = mod.fc.weight.grad.numpy().copy()
    return record


def _assert_records_equal(jr, tr):
    assert set(jr) == set(tr)
    for key in tr:
        assert len(jr[key]) == len(tr[key]), key
        for j, t in zip(jr[key], tr[key]):
            if t is None:
                assert j is None, key
            else:
                np.testing.assert_allclose(j, t, rtol=1e-5, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("requires", [(True, True), (True, False), (False, False)])
@pytest.mark.parametrize("replace,pre_replace", [(None, None), (3.0, None), (None, 0.5)])
def test_full_backward_hooks_see_and_replace_torch_gradients(requires, replace, pre_replace):
    if replace is not None and not any(requires):
        return  # torch refuses replacements when no input requires grad (tested below)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 3)).astype(np.float32), rng.standard_normal((4, 3)).astype(np.float32)
    tm, jm = _TwoInputs.build(torch), _TwoInputs.build(juanji)
    copy_weights(jm, tm)
    tr = _record_backward(torch, tm, [a, b], requires, replace, pre_replace)
    jr = _record_backward(juanji, jm, [a, b], requires, replace, pre_replace)
    _assert_records_equal(jr, tr)


def test_backward_hook_on_sequential_layers_sees_torch_values():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    records = {}
    for lib in (torch, juanji):
        net = lib.nn.Sequential(lib.nn.Linear(4, 3), lib.nn.Tanh(), lib.nn.Linear(3, 2))
        if lib is juanji:
            copy_weights(net, tnet)
        else:
            tnet = net
        seen = []
        for layer in net:
            layer.register_full_backward_hook(
                lambda m, gi, go: seen.append((type(m).__name__, [None if g is None else g.detach().numpy().copy()
                                                                  for g in gi + go])))
        net(lib.tensor(x)).pow(2).sum().backward()
        records[lib.__name__] = seen
    assert [s[0] for s in records["juanji"]] == [s[0] for s in records["torch"]]
    for (_, js), (_, ts) in zip(records["juanji"], records["torch"]):
        for j, t in zip(js, ts):
            if t is None:
                assert j is None
            else:
                np.testing.assert_allclose(j, t, rtol=1e-5, atol=1e-6)


def test_backward_hook_returning_gradients_without_grad_inputs_is_an_error():
    for lib in (torch, juanji):
        m = lib.nn.Linear(2, 2)
        m.register_full_backward_hook(lambda mod, gi, go: (lib.ones(3, 2),))
        with pytest.raises(RuntimeError, match="no input requires gradient"):
            m(lib.ones(3, 2)).sum().backward()


def test_backward_hook_with_wrong_number_of_gradients_is_an_error():
    for lib in (torch, juanji):
        m = lib.nn.Linear(2, 2)
        m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
        with pytest.raises(RuntimeError, match="invalid number of grad_input"):
            m(lib.ones(3, 2, requires_grad=True)).sum().backward()


def test_removed_backward_hook_does_not_fire():
    m = nn.Linear(2, 2)
    fired = []
    handle = m.register_full_backward_hook(lambda *a: fired.append(1))
    handle.remove()
    m(juanji.ones(3, 2, requires_grad=True)).sum().backward()
    assert fired == []


def test_backward_hook_unused_inputs_get_zeros_and_unused_outputs_none_like_torch():
    results = {}
    for lib in (torch, juanji):
        class Partial(lib.nn.Module):
            def forward(self, a, b, c):
                return a * 2 + b.sum(), a.detach().long(), a * 3

        m = Partial()
        seen = []
        m.register_full_backward_hook(lambda mod, gi, go: seen.append(
            ([None if g is None else g.tolist() for g in gi], [None if g is None else g.tolist() for g in go])))
        a = lib.ones(2, requires_grad=True)
        c = lib.ones(2, requires_grad=True)   # c is never used: zeros
        m(a, lib.ones(2), c)[0].sum().backward()
        m(a, lib.ones(2, requires_grad=True), 3)[0].sum().backward()
        results[lib.__name__] = seen
    assert results["juanji"] == results["torch"]


@pytest.mark.parametrize("module_name", [
    "juanji.nn.parameter", "juanji.nn.modules.module", "juanji.nn.modules.container", "juanji.nn.modules.flatten",
    "juanji.nn.modules.linear", "juanji.nn.modules.sparse", "juanji.nn.functional.linear",
    "juanji.nn.functional.sparse", "juanji.nn.init",
])
def test_docstring_examples_run(module_name):
    import doctest
    import importlib
    result = doctest.testmod(importlib.import_module(module_name))
    assert result.attempted > 0 and result.failed == 0


def test_global_module_hooks_fire_for_every_module_like_torch():
    records = {}
    for lib in (torch, juanji):
        module_api = lib.nn.modules.module
        seen = []
        handles = [
            module_api.register_module_forward_pre_hook(lambda m, a: seen.append(("pre", type(m).__name__))),
            module_api.register_module_forward_hook(lambda m, a, o: seen.append(("post", type(m).__name__))),
            module_api.register_module_full_backward_hook(lambda m, gi, go: seen.append(("bwd", type(m).__name__))),
        ]
        try:
            net = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.Tanh(), lib.nn.Linear(3, 1))
            net(lib.ones(4, 2, requires_grad=True)).sum().backward()
        finally:
            for h in handles:
                h.remove()
        count = len(seen)
        net(lib.ones(4, 2))
        assert len(seen) == count  # removed
        records[lib.__name__] = seen
    assert records["juanji"] == records["torch"]


def test_state_dict_metadata_carries_versions_like_torch():
    j = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)).state_dict()
    t = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2)).state_dict()
    assert dict(j._metadata) == dict(t._metadata)


def test_batchnorm_missing_count_is_reported_with_metadata_and_filled_without_like_torch():
    results = {}
    for lib in (torch, juanji):
        model = lib.nn.Sequential(lib.nn.BatchNorm1d(2))
        sd = model.state_dict()
        del sd["0.num_batches_tracked"]
        try:
            model.load_state_dict(sd)
            with_metadata = "loaded"
        except RuntimeError as e:
            with_metadata = _norm(e)
        plain = {k: v for k, v in sd.items()}  # no _metadata: an old checkpoint
        results[lib.__name__] = (with_metadata, repr(model.load_state_dict(plain)))
    assert results["juanji"] == results["torch"]
