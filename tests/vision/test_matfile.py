"""The MAT-file reader against SciPy's (loadmat reads, savemat writes) and against files built by hand
from MATLAB's format description (both byte orders, doubles stored as uint8, small elements)."""

import numpy as np
import pytest

from juanji.vision.datasets import MatFileError, read_mat
from tests.vision.dataset_files import MX_DOUBLE, MX_UINT8, mat_file, mat_matrix

sio = pytest.importorskip("scipy.io")

VARIABLES = {
    "X": np.random.default_rng(0).integers(0, 256, (4, 5, 3, 7), dtype=np.uint8),
    "y": np.random.default_rng(1).integers(1, 11, (7, 1)).astype(np.float64),
    "scalar": np.array([[3]], dtype=np.uint8),
    "f32": np.random.default_rng(2).standard_normal((3, 2)).astype(np.float32),
    "i16": np.arange(-6, 6, dtype=np.int16).reshape(3, 4),
    "u16": np.arange(12, dtype=np.uint16).reshape(2, 6),
    "i32": np.arange(5, dtype=np.int32),
    "i64": np.array([[-(2 ** 40), 2 ** 40]], dtype=np.int64),
    "b": np.array([[True, False, True]]),
    "z": (np.arange(4) + 1j * np.arange(4)[::-1]).reshape(2, 2),
    "empty": np.zeros((0, 3)),
}


@pytest.mark.filterwarnings("ignore:Casting complex values to real")
@pytest.mark.parametrize("mat_dtype", [False, True])
@pytest.mark.parametrize("compress", [False, True])
def test_numeric_variables_as_scipy_reads_them(tmp_path, compress, mat_dtype):
    path = tmp_path / "v.mat"
    sio.savemat(path, VARIABLES, do_compression=compress)
    got = read_mat(path, mat_dtype=mat_dtype)
    want = {k: v for k, v in sio.loadmat(path, mat_dtype=mat_dtype).items() if not k.startswith("__")}
    assert sorted(got) == sorted(want)
    if mat_dtype:  # SciPy's mat_dtype=True casts complex to real (with a ComplexWarning); MATLAB's class is complex
        np.testing.assert_array_equal(got.pop("z"), VARIABLES["z"])
        del want["z"]
    for name in want:
        assert got[name].dtype == want[name].dtype, name
        assert got[name].shape == want[name].shape, name
        np.testing.assert_array_equal(got[name], want[name])


def test_variable_names_selects_and_checks(tmp_path):
    path = tmp_path / "v.mat"
    sio.savemat(path, {"X": VARIABLES["X"], "label": "text", "cells": np.array([[1, "a"]], dtype=object),
                       "s": {"a": 1}}, do_compression=True)
    assert list(read_mat(path, variable_names=["X"])) == ["X"]
    assert sorted(read_mat(path)) == ["X"]          # char, cell and struct arrays are skipped
    with pytest.raises(MatFileError, match="variable 'label' is a char array"):
        read_mat(path, variable_names=["label"])
    with pytest.raises(MatFileError, match=r"no variable 'nope' \(the file holds"):
        read_mat(path, variable_names=["nope"])


@pytest.mark.parametrize("order", ["<", ">"])
@pytest.mark.parametrize("compress", [False, True])
def test_hand_built_files_in_both_byte_orders(tmp_path, order, compress):
    labels = np.array([[1], [10], [7]], dtype=np.uint8)         # MATLAB stores small doubles as uint8
    images = np.random.default_rng(3).integers(0, 256, (2, 3, 3, 3), dtype=np.uint8)
    floats = np.linspace(-2, 2, 6).reshape(2, 3)
    raw = mat_file([mat_matrix("y", labels, MX_DOUBLE, order), mat_matrix("X", images, MX_UINT8, order),
                    mat_matrix("w", floats, MX_DOUBLE, order), mat_matrix("ok", np.array([[1, 0]], np.uint8),
                                                                         MX_UINT8, order, logical=True)],
                   order=order, compress=compress)
    got = read_mat(raw, mat_dtype=True)
    assert got["y"].dtype == np.float64 and got["y"].tolist() == [[1.0], [10.0], [7.0]]
    np.testing.assert_array_equal(got["X"], images)
    np.testing.assert_array_equal(got["w"], floats)
    assert got["ok"].dtype == bool and got["ok"].tolist() == [[True, False]]
    assert read_mat(raw)["y"].dtype == np.uint8          # as stored
    path = tmp_path / "hand.mat"
    path.write_bytes(raw)
    for mat_dtype in (False, True):
        want = sio.loadmat(path, mat_dtype=mat_dtype)       # SciPy agrees with the hand-built file
        got = read_mat(raw, mat_dtype=mat_dtype)
        for name in ("y", "X", "w", "ok"):
            assert want[name].dtype.newbyteorder("=") == got[name].dtype   # ours in native byte order
            np.testing.assert_array_equal(want[name], got[name])


@pytest.mark.parametrize("raw, problem", [
    (b"short", "shorter than the 128-byte header"),
    (b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(128, b" "), r"version 7.3 \(HDF5\)"),
    (b"x" * 128, "no level-5 header"),
])
def test_files_this_reader_cannot_take_say_why(raw, problem):
    with pytest.raises(MatFileError, match=problem):
        read_mat(raw)


def test_truncated_and_corrupt_files(tmp_path):
    raw = mat_file([mat_matrix("X", np.zeros((4, 4), np.uint8), MX_UINT8)])
    with pytest.raises(MatFileError, match="truncated"):
        read_mat(raw[:-20])
    packed = mat_file([mat_matrix("X", np.zeros((4, 4), np.uint8), MX_UINT8)], compress=True)
    broken = packed[:140] + bytes(b ^ 0xFF for b in packed[140:150]) + packed[150:]
    with pytest.raises(MatFileError, match="corrupt"):
        read_mat(broken)
    with pytest.raises(FileNotFoundError, match="MAT-file not found"):
        read_mat(tmp_path / "none.mat")
