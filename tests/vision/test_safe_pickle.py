"""The data-only unpickler: NumPy arrays and plain data come back as pickle.load gives them; anything
that would run code is refused before it runs."""

import builtins
import os
import pickle
import subprocess

import numpy as np
import pytest

from juanji.vision.datasets import UnsafePickleError, load_data_pickle
from tests.vision.dataset_files import py2_pickle

ARRAYS = [
    np.arange(12, dtype=np.uint8).reshape(3, 4),
    np.linspace(-1, 1, 10, dtype=np.float32),
    np.arange(6, dtype=">i2").reshape(2, 3),                 # big-endian
    np.asfortranarray(np.arange(12, dtype=np.float64).reshape(3, 4)),
    np.zeros((0, 5), dtype=np.int64),
    np.array([True, False]),
]


@pytest.mark.parametrize("protocol", [0, 1, 2, 3, 4, 5])
@pytest.mark.parametrize("index", range(len(ARRAYS)))
def test_arrays_and_plain_data_round_trip(protocol, index):
    value = {"data": ARRAYS[index], "labels": [1, 2, 3], "name": "x", "nested": ({"a": 1.5}, None, True),
             b"raw": b"\x00\xff"}
    got = load_data_pickle(pickle.dumps(value, protocol=protocol), "test")
    want = pickle.loads(pickle.dumps(value, protocol=protocol))
    assert got.keys() == want.keys()
    # native byte order (NumPy itself gives native or not depending on the protocol)
    assert got["data"].dtype == want["data"].dtype.newbyteorder("=") and got["data"].shape == want["data"].shape
    assert got["data"].flags.writeable
    np.testing.assert_array_equal(got["data"], want["data"])
    assert got["labels"] == want["labels"] and got["nested"] == want["nested"] and got[b"raw"] == b"\x00\xff"


def test_python2_pickles_read_as_pickle_load_with_latin1_does():
    value = {"data": ARRAYS[0], "names": ["caf\xe9", "b"], "n": 3}
    raw = py2_pickle(value)
    want = pickle.loads(raw, encoding="latin1")
    got = load_data_pickle(raw, "test")
    assert got["names"] == want["names"] == ["caf\xe9", "b"] and got["n"] == 3
    np.testing.assert_array_equal(got["data"], want["data"])


def test_numpy_scalars_are_read():
    value = [np.float32(2.5), np.int64(-3)]
    got = load_data_pickle(pickle.dumps(value, protocol=2), "test")
    assert got == value and [type(v) for v in got] == [np.float32, np.int64]


class _Reduce:
    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


def _attacks(marker):
    """Pickles that would create ``marker`` (or run code some other way) if loaded with pickle.load."""
    command = f"touch {marker}"
    yield "os.system", pickle.dumps(_Reduce(os.system, command), protocol=2)
    yield "subprocess", pickle.dumps(_Reduce(subprocess.call, ["touch", str(marker)]), protocol=4)
    yield "eval", pickle.dumps(_Reduce(builtins.eval, f"open({str(marker)!r}, 'w')"), protocol=0)
    yield "exec", pickle.dumps(_Reduce(builtins.exec, f"open({str(marker)!r}, 'w')"), protocol=5)
    yield "open", pickle.dumps(_Reduce(builtins.open, str(marker), "w"), protocol=3)
    # hidden inside an otherwise ordinary CIFAR batch
    yield "nested", pickle.dumps({"data": np.zeros((1, 3072), np.uint8), "labels": [_Reduce(os.system, command)]})
    # a hand-written protocol-0 pickle, the classic form
    yield "handwritten", f"cos\nsystem\n(S'{command}'\ntR.".encode()
    # an object array: its elements are further pickles
    yield "object array", pickle.dumps(np.array([_Reduce(os.system, command)], dtype=object), protocol=2)


@pytest.mark.parametrize("name", ["os.system", "subprocess", "eval", "exec", "open", "nested", "handwritten",
                                  "object array"])
def test_malicious_pickles_are_refused_and_nothing_runs(tmp_path, name):
    marker = tmp_path / "pwned"
    payload = dict(_attacks(marker))[name]
    with pytest.raises(UnsafePickleError) as excinfo:
        load_data_pickle(payload, "evil.pkl")
    assert not marker.exists()
    message = str(excinfo.value)
    assert "evil.pkl" in message and "\n" not in message
    # the same bytes do run code under pickle.load (the test would mean nothing otherwise)
    if name != "object array":
        try:
            pickle.loads(payload)
        except Exception:  # noqa: BLE001 - only the side effect matters
            pass
        assert marker.exists()


def test_object_dtype_arrays_are_refused_by_name():
    payload = pickle.dumps(np.array([1, "a"], dtype=object), protocol=2)
    with pytest.raises(UnsafePickleError):
        load_data_pickle(payload, "x")


def test_persistent_ids_and_garbage_are_refused():
    class Persistent(pickle.Pickler):
        def persistent_id(self, obj):
            return "id" if obj == "secret" else None

    import io
    buffer = io.BytesIO()
    Persistent(buffer, protocol=2).dump(["secret"])
    with pytest.raises(UnsafePickleError, match="persistent ids"):
        load_data_pickle(buffer.getvalue(), "x")
    with pytest.raises(pickle.UnpicklingError, match="is not a readable data pickle"):
        load_data_pickle(b"\x80\x02garbage", "x")
