"""The namespace check (scripts/torch_namespace.py): juanji has every name of the required sections
of torch's reference page, as functions, Tensor methods, in-place forms and with out=; its
exceptions and its out= overrides are what they claim to be."""

import importlib.util
import pathlib

import pytest

import juanji

torch = pytest.importorskip("torch")

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / "scripts" / "torch_namespace.py"


def _load():
    spec = importlib.util.spec_from_file_location("torch_namespace", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = _load()


def test_no_required_name_is_missing():
    report = check.check(torch=torch)
    missing = {section: names for section, names in report.items() if names}
    assert not missing, f"juanji lacks these documented torch names: {missing}"


def test_the_check_finds_a_missing_name(monkeypatch):
    monkeypatch.delattr(juanji, "sinh")
    report = check.check(torch=torch)
    assert "sinh" in report["Pointwise Ops"]


def test_every_exception_is_a_documented_name_with_a_reason():
    documented = {name for names in check.read_names().values() for name in names}
    for name, reason in check.EXCEPTIONS.items():
        assert name in documented, name
        assert len(reason) > 20


def test_the_out_overrides_are_functions_whose_python_binding_refuses_out():
    x = torch.ones(2, 2)
    calls = {"zeros_like": (x,), "ones_like": (x,), "empty_like": (x,), "rand_like": (x,), "randn_like": (x,),
             "var_mean": (x,), "std_mean": (x,), "from_file": ("/dev/null", False, 0), "empty_strided": ((2,), (1,))}
    assert set(calls) == check.NO_PYTHON_OUT
    for name, args in calls.items():
        with pytest.raises(TypeError):
            getattr(torch, name)(*args, out=torch.empty(0))


def test_names_are_read_from_torchs_page_format():
    page = """# torch
## Tensors
```{eval-rst}
.. autosummary::
    :toctree: generated
    :nosignatures:

    is_tensor
    numel
```
### Pointwise Ops
```{eval-rst}
.. autosummary::
    :nosignatures:

    abs
    autograd.grad_mode.set_grad_enabled
```
- {func}`torch.Tensor.cauchy_` - numbers drawn from the Cauchy distribution
* - `inf`
"""
    sections = check.names_from_doc(page)
    assert sections == {"Tensors": ["is_tensor", "numel"],
                        "Pointwise Ops": ["abs", "set_grad_enabled", "Tensor.cauchy_", "inf"]}


def test_the_script_reports_and_exits_zero(capsys):
    assert check.main([]) == 0
    out = capsys.readouterr().out
    assert "0 required names missing" in out and "out of scope" in out
