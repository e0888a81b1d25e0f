"""juanji.save / juanji.load: round trips of tensors, state dicts and plain containers, file paths
and file objects, clear errors for missing or corrupt files, and no code execution on load."""

import collections
import io
import math
import os
import pickle
import warnings

import numpy as np
import pytest

import juanji


def _same(a, b):
    assert type(a) is type(b) or (isinstance(a, juanji.Tensor) and isinstance(b, juanji.Tensor))
    if isinstance(a, juanji.Tensor):
        assert a.dtype is b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        assert np.array_equal(a.numpy(force=True), b.numpy(force=True), equal_nan=True)
    elif isinstance(a, dict):
        assert list(a.keys()) == list(b.keys())
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


OBJECTS = [
    juanji.tensor([[1.5, 2.0], [3.0, 4.0]]),
    juanji.tensor(3.0, dtype=juanji.float64),
    juanji.zeros(0, 3),
    juanji.tensor([True, False]),
    juanji.arange(10, dtype=juanji.int32),
    juanji.tensor([1, 2], dtype=juanji.uint8),
    juanji.ones(3, requires_grad=True),
    juanji.arange(12.0).reshape(3, 4).t(),  # not contiguous
    collections.OrderedDict([("layer.weight", juanji.randn(2, 3)), ("layer.bias", juanji.zeros(2))]),
    {"epoch": 3, "lr": 0.01, "name": "run-1", "flag": True, "none": None, "nan": float("nan"),
     "inf": float("-inf"), "steps": [1, 2, 3], "pair": (1, "a"), 5: "int key", (1, 2): "tuple key"},
    {"state": {0: {"momentum_buffer": juanji.ones(2)}}, "param_groups": [{"lr": 0.1, "params": [0]}]},
    [juanji.ones(1), (juanji.zeros(2), {"x": juanji.tensor([7])})],
    np.arange(4.0),
    juanji.float64,
]


@pytest.mark.parametrize("case", range(len(OBJECTS)))
def test_round_trip_through_a_file(tmp_path, case):
    path = tmp_path / "obj.pt"
    juanji.save(OBJECTS[case], path)
    loaded = juanji.load(path)
    if isinstance(OBJECTS[case], np.ndarray):
        assert np.array_equal(loaded, OBJECTS[case])
    else:
        _same(OBJECTS[case], loaded)
    assert [p.name for p in tmp_path.iterdir()] == ["obj.pt"]  # no temporary file left behind


def test_round_trip_through_a_file_object_and_str_path(tmp_path):
    buf = io.BytesIO()
    obj = {"w": juanji.randn(3, 3)}
    juanji.save(obj, buf)
    buf.seek(0)
    _same(obj, juanji.load(buf))
    juanji.save(obj, str(tmp_path / "a.pt"))
    _same(obj, juanji.load(str(tmp_path / "a.pt"), map_location="cpu", weights_only=True))


def test_parameters_and_module_state_dicts_load_as_tensors(tmp_path):
    p = juanji.nn.Parameter(juanji.ones(2))
    juanji.save({"p": p}, tmp_path / "p.pt")
    loaded = juanji.load(tmp_path / "p.pt")["p"]
    assert isinstance(loaded, juanji.Tensor) and loaded.tolist() == [1.0, 1.0]


def test_loaded_tensors_are_independent_and_writeable(tmp_path):
    x = juanji.ones(3)
    juanji.save(x, tmp_path / "x.pt")
    y = juanji.load(tmp_path / "x.pt")
    y.add_(1)
    assert x.tolist() == [1.0, 1.0, 1.0] and y.tolist() == [2.0, 2.0, 2.0]


def test_missing_truncated_and_foreign_files_fail_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        juanji.load(tmp_path / "missing.pt")
    juanji.save({"w": juanji.ones(100)}, tmp_path / "good.pt")
    data = (tmp_path / "good.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(RuntimeError, match="is not a valid juanji or PyTorch file .truncated or corrupt"):
        juanji.load(tmp_path / "cut.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(RuntimeError, match="is not a valid juanji file"):
        juanji.load(tmp_path / "text.pt")
    np.savez(tmp_path / "plain.npz", a=np.ones(2))
    with pytest.raises(RuntimeError, match="is not a valid juanji file"):
        juanji.load(tmp_path / "plain.npz")


class _Exploit:
    """Unpickling this would create a marker file: loading must never execute it."""

    marker = None

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_load_never_executes_code(tmp_path):
    marker = tmp_path / "pwned"
    _Exploit.marker = str(marker)
    (tmp_path / "evil.pt").write_bytes(pickle.dumps(_Exploit()))
    with pytest.raises(RuntimeError, match="is not a valid juanji or PyTorch file"):
        juanji.load(tmp_path / "evil.pt")
    assert not marker.exists()
    # an npz holding a pickled object array is refused too
    np.savez(tmp_path / "evil.npz", __meta__=np.array([_Exploit()], dtype=object))
    with pytest.raises(RuntimeError):
        juanji.load(tmp_path / "evil.npz")
    assert not marker.exists()


def test_unsupported_objects_are_refused_on_save(tmp_path):
    with pytest.raises(TypeError, match="juanji.save: cannot store an object of type object"):
        juanji.save({"x": object()}, tmp_path / "bad.pt")
    assert not os.path.exists(tmp_path / "bad.pt")


def test_state_dict_metadata_survives_save_and_load(tmp_path):
    """torch.save keeps state_dict._metadata (module versions); BatchNorm's loader reads it."""
    from juanji import nn
    sd = nn.BatchNorm1d(3).state_dict()
    assert hasattr(sd, "_metadata")
    path = tmp_path / "bn.pt"
    juanji.save(sd, path)
    loaded = juanji.load(path)
    assert loaded._metadata == sd._metadata


# -- files juanji does not read: said what they are, never unpickled ---------------------------
# (files written by torch.save are read: tests/test_torch_files.py)

def test_a_torchscript_archive_is_named_with_how_to_convert_it(tmp_path):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated, its files still exist
        torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), tmp_path / "script.pt")
    with pytest.raises(RuntimeError) as error:
        juanji.load(tmp_path / "script.pt")
    message = str(error.value)
    assert message.startswith(f"juanji.load: {tmp_path / 'script.pt'} is a PyTorch TorchScript archive")
    assert "does not unpickle" in message and "numpy.savez" in message and "load_state_dict" in message
    assert "\n" not in message


def test_a_torch_checkpoint_in_a_file_object_is_read_from_its_position(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.arange(3.0)}, tmp_path / "zip.pt")
    stream = io.BytesIO(b"header" + (tmp_path / "zip.pt").read_bytes())
    stream.seek(6)  # the checkpoint starts after what the caller has already read
    assert juanji.load(stream)["w"].tolist() == [0.0, 1.0, 2.0]


def test_the_conversion_recipe_in_the_message_works(tmp_path):
    """Follow the error message: torch state_dict -> NumPy .npz -> juanji's load_state_dict."""
    torch = pytest.importorskip("torch")
    t_net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    state = t_net.state_dict()
    np.savez(tmp_path / "weights.npz", **{k: v.numpy() for k, v in state.items()})
    j_net = juanji.nn.Sequential(juanji.nn.Linear(3, 4), juanji.nn.BatchNorm1d(4))
    j_net.load_state_dict({k: juanji.tensor(v) for k, v in np.load(tmp_path / "weights.npz").items()})
    for key, value in state.items():
        np.testing.assert_array_equal(j_net.state_dict()[key].numpy(), value.numpy())


def test_a_plain_pickle_is_named_and_refused(tmp_path):
    (tmp_path / "data.pkl").write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(RuntimeError, match="not a valid juanji or PyTorch file: it is a Python pickle"):
        juanji.load(tmp_path / "data.pkl")


def test_a_zip_shaped_like_a_torch_checkpoint_is_not_unpickled(tmp_path):
    import zipfile
    marker = tmp_path / "pwned"
    _Exploit.marker = str(marker)
    with zipfile.ZipFile(tmp_path / "evil.pt", "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(_Exploit()))
        archive.writestr("archive/version", "3\n")
    with pytest.raises(pickle.UnpicklingError, match="global (io|builtins).open, which is not in the allow list"):
        juanji.load(tmp_path / "evil.pt")
    assert not marker.exists()
    legacy = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19." + pickle.dumps(_Exploit(), protocol=2)
    (tmp_path / "evil_legacy.pt").write_bytes(legacy)
    with pytest.raises(Exception, match="juanji.load"):
        juanji.load(tmp_path / "evil_legacy.pt")
    assert not marker.exists()
