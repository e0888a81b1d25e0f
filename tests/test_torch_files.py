"""PyTorch files in and out without torch (juanji/_torchfile through juanji.load/save).

Real torch writes the files here; juanji reads them in a *subprocess in which ``import torch``
raises*, re-saves what it read in its own format plus facts about it (types, strides, which
tensors share memory), and the test compares that with what torch wrote. The same child runs a
ResNet-18 (torchvision's architecture, written in plain torch in tests/vision/test_models.py)
from the loaded state_dict: outputs and gradients equal torch's. The other way: juanji writes
torch's zip format and real ``torch.load(weights_only=True)`` gets equal tensors. Crafted
malicious pickles are refused naming the global, without running; broken files get one line.
"""

from __future__ import annotations

import collections
import io
import json
import os
import pickle
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest

import juanji

torch = pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# a child process where torch cannot be imported: the loader must not need it
BLOCK_TORCH = """
import importlib.abc, sys
class _NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "torchvision"):
            raise ImportError(f"{name} is blocked in this test")
sys.meta_path.insert(0, _NoTorch())
try:
    import torch
    raise SystemExit("torch was importable")
except ImportError:
    pass
"""


def run_without_torch(code: str, *args) -> None:
    script = BLOCK_TORCH + textwrap.dedent(code) + "\nassert 'torch' not in sys.modules\n"
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


# -- what torch writes --------------------------------------------------------------------------

JUANJI_DTYPES = [torch.float32, torch.float64, torch.float16, torch.int64, torch.int32, torch.int16,
                 torch.int8, torch.uint8, torch.bool]


def _objects():
    """name -> object torch saves (every case the issue lists)."""
    g = torch.Generator().manual_seed(0)
    dtypes = collections.OrderedDict()
    for dt in JUANJI_DTYPES:
        dtypes[str(dt)] = (torch.randn(3, 4, generator=g) * 50).to(dt)
    dtypes["scalar"] = torch.tensor(2.5, dtype=torch.float64)
    dtypes["empty"] = torch.zeros(0, 3)
    base = torch.arange(24.0).reshape(4, 6)
    views = {"base": base, "rows": base[1:3], "strided": base[1:, ::2], "t": base.t(), "row": base[2],
             "expanded": torch.arange(3.0).expand(4, 3), "other": torch.ones(5)[1:]}
    lin = torch.nn.Linear(3, 2)
    sgd = torch.optim.SGD(lin.parameters(), lr=0.1, momentum=0.9)
    adam_lin = torch.nn.Linear(3, 2)
    adam = torch.optim.Adam(adam_lin.parameters(), lr=1e-3, betas=(0.8, 0.99))
    for model, opt in ((lin, sgd), (adam_lin, adam)):
        for _ in range(2):
            opt.zero_grad()
            model(torch.randn(4, 3, generator=g)).pow(2).sum().backward()
            opt.step()
    nested = {"a": [torch.ones(2), (torch.zeros(1, dtype=torch.int64), {"deep": torch.eye(2)})],
              "numbers": (1, 2.5, -3, 2**40, float("inf"), True, None, "text"), 7: {"x": [1, [2, [3]]]},
              "set": {1, 2}, "dtype": torch.float16, "size": torch.Size([2, 3])}
    param = torch.nn.Parameter(torch.randn(2, 2, generator=g))
    frozen = torch.nn.Parameter(torch.randn(2, generator=g), requires_grad=False)
    return {"dtypes": dtypes, "views": views, "sgd": sgd.state_dict(), "adam": adam.state_dict(),
            "nested": nested, "params": {"p": param, "frozen": frozen, "again": param},
            "grad": torch.ones(3, requires_grad=True), "state_dict": lin.state_dict()}


def _resnet18():
    from tests.vision.test_models import RefBasicBlock, RefResNet
    torch.manual_seed(0)
    model = RefResNet(RefBasicBlock, [2, 2, 2, 2], num_classes=10)
    with torch.no_grad():  # batch-norm statistics that matter in eval mode
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return model.eval()


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """torch writes every object in both formats; a child without torch reads them all."""
    folder = tmp_path_factory.mktemp("torch_files")
    objects = _objects()
    for name, obj in objects.items():
        torch.save(obj, folder / f"{name}.pt")
        torch.save(obj, folder / f"{name}.legacy.pt", _use_new_zipfile_serialization=False)
    model = _resnet18()
    torch.save(model.state_dict(), folder / "resnet18.pt")
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    upstream = torch.randn(2, 10, generator=torch.Generator().manual_seed(2))
    np.save(folder / "x.npy", x.numpy())
    np.save(folder / "upstream.npy", upstream.numpy())
    run_without_torch("""
        import json, sys, pathlib
        import numpy as np
        import juanji
        from juanji.vision import models
        folder = pathlib.Path(sys.argv[1])
        facts = {}
        for path in sorted(folder.glob("*.pt")):
            if path.name.startswith("resnet18"):
                continue
            obj = juanji.load(path)
            juanji.save(obj, folder / (path.name + ".back"), format="torch")  # for the parent to compare
            if path.name.startswith("views"):
                facts[path.name] = {"share": {k: bool(np.shares_memory(obj["base"]._data, v._data))
                                              for k, v in obj.items()},
                                    "strides": {k: list(v.stride()) for k, v in obj.items()}}
            if path.name.startswith("params"):
                facts[path.name] = {k: [type(v).__name__, v.requires_grad] for k, v in obj.items()}
                facts[path.name]["same_object"] = obj["p"] is obj["again"]
            if path.name.startswith("state_dict"):
                facts[path.name] = {"type": type(obj).__name__, "metadata": obj._metadata}
            if path.name.startswith("nested"):
                facts[path.name] = {"set": sorted(obj["set"]), "dtype": repr(obj["dtype"]),
                                    "size": type(obj["size"]).__name__}
        # ResNet-18 from torch's state_dict: eval forward and the gradients of one backward
        model = models.resnet18(num_classes=10).eval()
        model.load_state_dict(juanji.load(folder / "resnet18.pt"))
        x = juanji.tensor(np.load(folder / "x.npy"), requires_grad=True)
        out = model(x)
        out.backward(juanji.tensor(np.load(folder / "upstream.npy")))
        results = {"out": out.detach(), "x_grad": x.grad}
        results.update({"grad." + k: p.grad for k, p in model.named_parameters()})
        juanji.save(results, folder / "resnet18.results")
        (folder / "facts.json").write_text(json.dumps(facts))
    """, folder)
    return folder, objects, model, x, upstream


def _assert_same(loaded, original, where):
    """``loaded``: what the child read, written back by juanji in torch's format and read by torch."""
    if isinstance(original, torch.Tensor):
        assert isinstance(loaded, torch.Tensor), where
        assert loaded.dtype == original.dtype and loaded.shape == original.shape, where
        assert torch.equal(loaded, original.detach()), where
        assert loaded.stride() == original.stride(), where
        assert loaded.requires_grad == original.requires_grad, where
        assert isinstance(loaded, torch.nn.Parameter) == isinstance(original, torch.nn.Parameter), where
    elif isinstance(original, dict):
        assert type(loaded) is type(original), where
        assert list(loaded.keys()) == list(original.keys()), where
        for k in original:
            _assert_same(loaded[k], original[k], f"{where}.{k}")
    elif isinstance(original, (list, tuple)):
        assert type(loaded) is type(original) or isinstance(original, torch.Size), where
        assert len(loaded) == len(original), where
        for i, (a, b) in enumerate(zip(loaded, original)):
            _assert_same(a, b, f"{where}[{i}]")
    else:
        assert loaded == original, where


@pytest.mark.parametrize("fmt", ["", ".legacy"])
@pytest.mark.parametrize("name", ["dtypes", "views", "sgd", "adam", "nested", "params", "grad", "state_dict"])
def test_torch_written_files_read_without_torch_are_equal(written, name, fmt):
    folder, objects, _, _, _ = written
    loaded = torch.load(folder / f"{name}{fmt}.pt.back", weights_only=True)
    _assert_same(loaded, objects[name], name)


@pytest.mark.parametrize("fmt", ["", ".legacy"])
def test_views_of_one_storage_stay_views_of_one_array_with_torchs_strides(written, fmt):
    folder, objects, _, _, _ = written
    facts = json.loads((folder / "facts.json").read_text())[f"views{fmt}.pt"]
    for key, tensor in objects["views"].items():
        shares = tensor.untyped_storage().data_ptr() == objects["views"]["base"].untyped_storage().data_ptr()
        assert facts["share"][key] == shares, key
        assert facts["strides"][key] == list(tensor.stride()), key
    assert facts["share"]["strided"] and facts["share"]["t"] and not facts["share"]["other"]


@pytest.mark.parametrize("fmt", ["", ".legacy"])
def test_parameters_metadata_and_containers_keep_their_kind(written, fmt):
    folder, _, _, _, _ = written
    facts = json.loads((folder / "facts.json").read_text())
    params = facts[f"params{fmt}.pt"]
    assert params["p"] == ["Parameter", True] and params["frozen"] == ["Parameter", False]
    assert params["same_object"]  # one tensor saved twice is one object after loading, as in torch
    sd = facts[f"state_dict{fmt}.pt"]
    assert sd["type"] == "OrderedDict" and sd["metadata"] == {"": {"version": 1}}
    nested = facts[f"nested{fmt}.pt"]
    assert nested == {"set": [1, 2], "dtype": "juanji.float16", "size": "Size"}


def test_resnet18_from_torch_weights_gives_torchs_outputs_and_gradients(written):
    folder, _, model, x, upstream = written
    x = x.clone().requires_grad_(True)
    out = model(x)
    out.backward(upstream)
    results = juanji.load(folder / "resnet18.results")
    np.testing.assert_allclose(results["out"].numpy(), out.detach().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(results["x_grad"].numpy(), x.grad.numpy(), rtol=1e-4, atol=1e-6)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(results["grad." + name].numpy(), p.grad.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=name)


# -- juanji writes torch's format --------------------------------------------------------------

def test_torch_reads_what_juanji_writes_with_weights_only(tmp_path):
    base = juanji.arange(24.0).reshape(4, 6)
    obj = collections.OrderedDict()
    for dt in (juanji.float32, juanji.float64, juanji.float16, juanji.int64, juanji.int32, juanji.int16,
               juanji.int8, juanji.uint8, juanji.bool):
        obj[str(dt)] = (juanji.randn(3, 4) * 50).to(dt)
    obj.update({"base": base, "strided": base[1:, ::2], "t": base.t(), "flipped": base.flip(0),
                "scalar": juanji.tensor(3.0), "empty": juanji.zeros(0, 2), "param": juanji.nn.Parameter(juanji.ones(2)),
                "grad": juanji.ones(2, requires_grad=True),
                "nested": {"list": [1, 2.5, "s", None, True], "tuple": (juanji.ones(1), 3), "dtype": juanji.int32,
                           "size": juanji.Size([1, 2]), "set": {3}, "big": 2**70, "bytes": b"\x00\xff"}})
    obj._metadata = collections.OrderedDict({"": {"version": 1}, "layer": {"version": 2}})
    juanji.save(obj, tmp_path / "j.pt", format="torch")
    loaded = torch.load(tmp_path / "j.pt", weights_only=True)
    assert type(loaded) is collections.OrderedDict and loaded._metadata == obj._metadata
    for key, value in obj.items():
        if isinstance(value, juanji.Tensor):
            t = loaded[key]
            assert str(t.dtype).split(".")[-1] == value.dtype.name, key
            np.testing.assert_array_equal(t.detach().numpy(), value.numpy(force=True), err_msg=key)
            assert t.requires_grad == value.requires_grad, key
    assert isinstance(loaded["param"], torch.nn.Parameter)
    storage = loaded["base"].untyped_storage().data_ptr()
    assert loaded["strided"].untyped_storage().data_ptr() == storage and loaded["strided"].stride() == (6, 2)
    assert loaded["t"].untyped_storage().data_ptr() == storage and loaded["t"].stride() == (1, 6)
    nested = loaded["nested"]
    assert nested["list"] == [1, 2.5, "s", None, True] and nested["dtype"] is torch.int32
    assert nested["size"] == torch.Size([1, 2]) and nested["set"] == {3} and nested["big"] == 2**70
    assert nested["bytes"] == b"\x00\xff" and torch.equal(nested["tuple"][0], torch.ones(1))
    # torch can also map it (storages aligned as torch aligns them)
    mapped = torch.load(tmp_path / "j.pt", weights_only=True, mmap=True)
    assert torch.equal(mapped["base"], loaded["base"])


def test_a_juanji_model_and_optimizer_state_load_into_torch(tmp_path):
    from tests.vision.test_models import RefBasicBlock, RefResNet
    from juanji.vision import models
    juanji.manual_seed(0)  # (unseeded, a step of lr 0.1 on the sum of the logits sometimes sent the
    # evaluation's logits past float32's range: -inf in torch and nan here, by the order of the sums)
    j_model = models.resnet18(num_classes=10)
    opt = juanji.optim.SGD(j_model.parameters(), lr=0.01, momentum=0.9)
    j_model(juanji.randn(2, 3, 32, 32)).sum().backward()
    opt.step()
    juanji.save({"model": j_model.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "ckpt.pth", format="torch")
    ckpt = torch.load(tmp_path / "ckpt.pth", weights_only=True)
    t_model = RefResNet(RefBasicBlock, [2, 2, 2, 2], num_classes=10)
    t_model.load_state_dict(ckpt["model"])  # strict: torchvision's keys and shapes
    t_opt = torch.optim.SGD(t_model.parameters(), lr=0.1, momentum=0.9)
    t_opt.load_state_dict(ckpt["optimizer"])
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32)
    j_model.eval(), t_model.eval()
    with torch.no_grad():
        expected = t_model(torch.from_numpy(x)).numpy()
    assert np.isfinite(expected).all()
    np.testing.assert_allclose(j_model(juanji.tensor(x)).detach().numpy(), expected, rtol=1e-4, atol=1e-5)


def test_round_trip_torch_format_in_juanji(tmp_path):
    obj = {"w": juanji.randn(3, 3).t(), "n": [1, 2], "m": {"x": juanji.tensor(1)}}
    buf = io.BytesIO()
    juanji.save(obj, buf, format="torch")
    buf.seek(0)
    back = juanji.load(buf)
    np.testing.assert_array_equal(back["w"].numpy(), obj["w"].numpy())
    assert back["w"].stride() == obj["w"].stride() and back["n"] == [1, 2] and back["m"]["x"].item() == 1


def test_mmap_loading_is_copy_on_write(tmp_path):
    torch.save({"w": torch.arange(6.0)}, tmp_path / "w.pt")
    before = (tmp_path / "w.pt").read_bytes()
    w = juanji.load(tmp_path / "w.pt", mmap=True)["w"]
    w.add_(1)
    assert w.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert (tmp_path / "w.pt").read_bytes() == before


# -- refusals -------------------------------------------------------------------------------------

def _torch_zip(folder, name, pickle_bytes):
    path = folder / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle_bytes)
        archive.writestr("archive/version", "3\n")
    return path


class _Call:
    """Pickles as ``func(*args)``: the shape of every code-running pickle."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _malicious(marker):
    return {
        "os.system": (pickle.dumps(_Call(os.system, f"touch {marker}"), protocol=2), r"os\.system|posix\.system"),
        "eval": (pickle.dumps(_Call(eval, f"open({str(marker)!r}, 'w')"), protocol=2), r"builtins\.eval"),
        "exec in a state_dict": (pickle.dumps(collections.OrderedDict(
            w=_Call(exec, f"open({str(marker)!r}, 'w')")), protocol=2), r"builtins\.exec"),
        "unlisted global": (pickle.dumps(collections.defaultdict(list), protocol=2), r"collections\.defaultdict"),
        "protocol 4 STACK_GLOBAL": (pickle.dumps(_Call(os.system, f"touch {marker}"), protocol=4),
                                    r"os\.system|posix\.system"),
        "numpy reconstruct": (pickle.dumps(np.arange(3), protocol=2), r"numpy"),
    }


@pytest.mark.parametrize("case", ["os.system", "eval", "exec in a state_dict", "unlisted global",
                                  "protocol 4 STACK_GLOBAL", "numpy reconstruct"])
def test_malicious_pickles_are_refused_naming_the_global_and_nothing_runs(tmp_path, case):
    marker = tmp_path / "pwned"
    data, pattern = _malicious(marker)[case]
    for path in (_torch_zip(tmp_path, "evil.pt", data),):
        with pytest.raises(pickle.UnpicklingError) as error:
            juanji.load(path)
        message = str(error.value)
        assert "\n" not in message and "not in the allow list" in message
        import re
        assert re.search(pattern, message), message
    # the legacy format: the same payload as the object pickle after torch's header
    legacy = (pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2) + pickle.dumps(1001, protocol=2)
              + pickle.dumps({"little_endian": True}, protocol=2) + data)
    (tmp_path / "evil_legacy.pt").write_bytes(legacy)
    with pytest.raises(pickle.UnpicklingError, match="not in the allow list"):
        juanji.load(tmp_path / "evil_legacy.pt")
    assert not marker.exists()


def test_a_pickled_module_is_refused_naming_its_class(tmp_path):
    torch.save(torch.nn.Linear(2, 2), tmp_path / "module.pt")
    with pytest.raises(pickle.UnpicklingError, match=r"torch\.nn\.modules\.linear\.Linear"):
        juanji.load(tmp_path / "module.pt")


def test_weights_only_false_is_refused_with_the_reason(tmp_path):
    torch.save({"w": torch.ones(1)}, tmp_path / "w.pt")
    with pytest.raises(ValueError, match="weights_only=False is not supported: it would unpickle arbitrary"):
        juanji.load(tmp_path / "w.pt", weights_only=False)
    assert juanji.load(tmp_path / "w.pt", weights_only=True)["w"].tolist() == [1.0]


def _one_line_error(path, exc=Exception):
    with pytest.raises(exc) as error:
        juanji.load(path)
    message = str(error.value)
    assert message.startswith("juanji.load: ") and "\n" not in message, message
    # no zipfile/pickle traceback attached
    assert error.value.__cause__ is None and (error.value.__context__ is None or error.value.__suppress_context__)
    return message


def test_truncated_wrong_magic_and_unknown_dtype_each_give_one_line(tmp_path):
    torch.save({"w": torch.ones(1000)}, tmp_path / "good.pt")
    data = (tmp_path / "good.pt").read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 100):
        (tmp_path / "cut.pt").write_bytes(data[:cut])
        assert "truncated or corrupt" in _one_line_error(tmp_path / "cut.pt")
    torch.save({"w": torch.ones(1000)}, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    legacy = (tmp_path / "legacy.pt").read_bytes()
    (tmp_path / "cut_legacy.pt").write_bytes(legacy[: len(legacy) - 100])
    assert "cut short" in _one_line_error(tmp_path / "cut_legacy.pt")
    (tmp_path / "cut_legacy.pt").write_bytes(legacy[:40])
    _one_line_error(tmp_path / "cut_legacy.pt")
    wrong = bytearray(legacy)
    wrong[6] ^= 0xFF  # inside the magic number
    (tmp_path / "magic.pt").write_bytes(bytes(wrong))
    _one_line_error(tmp_path / "magic.pt")
    (tmp_path / "magic2.pt").write_bytes(pickle.dumps(12345, protocol=2) + legacy[20:])
    assert "Python pickle" in _one_line_error(tmp_path / "magic2.pt")
    (tmp_path / "noise.pt").write_bytes(b"GIF89a" + bytes(100))
    assert "not a valid juanji file" in _one_line_error(tmp_path / "noise.pt")
    for dt in (torch.bfloat16, torch.complex64, torch.uint16):
        torch.save({"layer.w": torch.ones(2, dtype=dt)}, tmp_path / "dtype.pt")
        message = _one_line_error(tmp_path / "dtype.pt", RuntimeError)
        assert f"tensor layer.w has dtype {dt}, which juanji does not have" in message


def test_a_corrupt_storage_record_is_one_line(tmp_path):
    path = _torch_zip(tmp_path, "short.pt", b"")
    torch.save({"w": torch.ones(4)}, tmp_path / "ok.pt")
    with zipfile.ZipFile(tmp_path / "ok.pt") as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info.filename, data[:4] if info.filename.endswith("data/0") else data)
    assert "holds 4 bytes, the storage needs 16" in _one_line_error(path, RuntimeError)
