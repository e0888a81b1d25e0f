"""juanji.Size is torch.Size: a tuple of ints whose arithmetic and slices stay Sizes (d2l prints
``X.reshape((1, 1) + X.shape).shape``), and which prints as ``juanji.Size([...])``."""

import copy
import pickle

import pytest

import juanji

torch = pytest.importorskip("torch")

OPERATIONS = [
    ("tuple + Size", lambda s: (1, 1) + s),
    ("Size + tuple", lambda s: s + (1,)),
    ("Size + Size", lambda s: s + s),
    ("() + Size", lambda s: () + s),
    ("Size + ()", lambda s: s + ()),
    ("sandwich", lambda s: (1,) + s + (1,)),
    ("slice", lambda s: s[1:]),
    ("reversed", lambda s: s[::-1]),
    ("empty slice", lambda s: s[3:]),
    ("Size * 2", lambda s: s * 2),
    ("2 * Size", lambda s: 2 * s),
    ("index", lambda s: s[0]),
    ("negative index", lambda s: s[-1]),
    ("numel", lambda s: s.numel()),
    ("count", lambda s: s.count(3)),
    ("index()", lambda s: s.index(4)),
    ("len", lambda s: len(s)),
    ("== tuple", lambda s: s == (2, 3, 4)),
    ("hash", lambda s: hash(s) == hash((2, 3, 4))),
    ("copy", lambda s: copy.copy(s)),
    ("pickle", lambda s: pickle.loads(pickle.dumps(s))),
]


@pytest.mark.parametrize("operation", [op for _, op in OPERATIONS], ids=[name for name, _ in OPERATIONS])
def test_size_operations_match_torch(operation):
    j = operation(juanji.ones(2, 3, 4).shape)
    t = operation(torch.ones(2, 3, 4).shape)
    assert type(j).__name__ == type(t).__name__
    assert (tuple(j) == tuple(t)) if isinstance(t, tuple) else (j == t)
    if isinstance(t, tuple):
        assert repr(j) == repr(t).replace("torch", "juanji")


def test_size_of_a_reshape_by_tuple_arithmetic_as_in_d2l():
    X = juanji.ones(8, 8)
    assert repr(X.reshape((1, 1) + X.shape).shape) == "juanji.Size([1, 1, 8, 8])"
    assert repr(X.reshape((1, 1) + X.shape).shape[2:]) == "juanji.Size([8, 8])"


def test_size_concatenation_with_a_list_is_torchs_type_error():
    s = juanji.ones(2).shape
    with pytest.raises(TypeError, match=r"can only concatenate tuple \(not list\) to juanji.Size"):
        s + [1]
    with pytest.raises(TypeError):
        [1] + s


def test_size_is_a_tuple_subclass_everywhere_a_tuple_is_expected():
    s = juanji.Size([2, 3])
    assert isinstance(s, tuple) and juanji.zeros(s).shape == s and juanji.ones(2, 3).reshape(s[::-1]).shape == (3, 2)
    assert juanji.Size() == () and repr(juanji.Size()) == "juanji.Size([])"
