"""juanji.safetensors against safetensors.torch: files written by either are read by the other with
the same names, dtypes, shapes, values and metadata; a dtype juanji lacks is one clear line."""

import numpy as np
import pytest

import juanji

torch = pytest.importorskip("torch")
st_torch = pytest.importorskip("safetensors.torch")

DTYPES = [(juanji.float32, torch.float32), (juanji.float64, torch.float64), (juanji.float16, torch.float16),
          (juanji.int64, torch.int64), (juanji.int32, torch.int32), (juanji.int16, torch.int16),
          (juanji.int8, torch.int8), (juanji.uint8, torch.uint8), (juanji.bool, torch.bool)]


def _torch_tensors():
    g = torch.Generator().manual_seed(0)
    out = {f"t.{str(t).split('.')[-1]}": (torch.randn(2, 3, generator=g) * 20).to(t) for _, t in DTYPES}
    out["scalar"] = torch.tensor(1.5)
    out["empty"] = torch.zeros(0, 4)
    out["conv.weight"] = torch.randn(4, 3, 3, 3, generator=g)
    return out


def test_juanji_reads_what_safetensors_torch_writes(tmp_path):
    tensors = _torch_tensors()
    st_torch.save_file(tensors, tmp_path / "m.safetensors", metadata={"format": "pt", "epoch": "3"})
    loaded = juanji.safetensors.load_file(tmp_path / "m.safetensors")
    assert sorted(loaded) == sorted(tensors)
    for name, t in tensors.items():
        assert isinstance(loaded[name], juanji.Tensor)
        assert loaded[name].dtype.name == str(t.dtype).split(".")[-1] and tuple(loaded[name].shape) == tuple(t.shape)
        np.testing.assert_array_equal(loaded[name].numpy(), t.numpy())
    loaded["conv.weight"].add_(1)  # writable
    assert juanji.safetensors.metadata_of(tmp_path / "m.safetensors") == {"format": "pt", "epoch": "3"}
    from_bytes = juanji.safetensors.load(st_torch.save(tensors))
    np.testing.assert_array_equal(from_bytes["conv.weight"].numpy(), tensors["conv.weight"].numpy())


@pytest.mark.parametrize("how", ["save_file", "juanji.save", "save"])
def test_safetensors_torch_reads_what_juanji_writes(tmp_path, how):
    tensors = {name: juanji.tensor(t.numpy()) for name, t in _torch_tensors().items()}
    tensors["transposed"] = juanji.randn(3, 5).t()  # not contiguous: written as its values
    path = tmp_path / "j.safetensors"
    if how == "save_file":
        juanji.safetensors.save_file(tensors, path, metadata={"note": "juanji"})
    elif how == "juanji.save":
        juanji.save(tensors, path, format="safetensors", metadata={"note": "juanji"})
    else:
        path.write_bytes(juanji.safetensors.save(tensors, metadata={"note": "juanji"}))
    back = st_torch.load_file(path)
    for name, t in tensors.items():
        assert str(back[name].dtype).split(".")[-1] == t.dtype.name
        np.testing.assert_array_equal(back[name].numpy(), t.numpy())
    from safetensors import safe_open
    with safe_open(path, framework="pt") as f:
        assert f.metadata() == {"note": "juanji"}


def test_a_model_round_trips_through_safetensors(tmp_path):
    model = juanji.vision.models.resnet20()
    juanji.safetensors.save_file(model.state_dict(), tmp_path / "r.safetensors")
    other = juanji.vision.models.resnet20()
    other.load_state_dict(juanji.safetensors.load_file(tmp_path / "r.safetensors"))
    for (k, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=k)


def test_errors_are_one_clear_line(tmp_path):
    st_torch.save_file({"w": torch.ones(2, dtype=torch.bfloat16)}, tmp_path / "bf16.safetensors")
    with pytest.raises(RuntimeError, match=r"tensor 'w' has dtype BF16, which juanji does not have"):
        juanji.safetensors.load_file(tmp_path / "bf16.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\x05\x00\x00\x00\x00\x00\x00\x00{oops")
    with pytest.raises(RuntimeError, match="not a safetensors file"):
        juanji.safetensors.load_file(tmp_path / "junk.safetensors")
    with pytest.raises(FileNotFoundError):
        juanji.safetensors.load_file(tmp_path / "missing.safetensors")
    with pytest.raises(TypeError, match="'w' is a list, expected a tensor"):
        juanji.safetensors.save_file({"w": [1, 2]}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="metadata must be a dict of str -> str"):
        juanji.safetensors.save_file({"w": juanji.ones(1)}, tmp_path / "x.safetensors", metadata={"a": 1})
