"""d2l's tensor chapters (2.1 data manipulation, 2.3 linear algebra) run unchanged on juanji and
give what PyTorch gives: same values, dtypes, shapes, the same in-place and memory-sharing
behaviour, and the same printed output (``examples/d2l_tensor_basics.py``)."""

import os
import subprocess
import sys

import numpy as np
import pytest

import juanji
from tests.test_compat_support import EXAMPLES, assert_same, load_example, torch_or_skip

example = load_example("d2l_tensor_basics")

@pytest.mark.parametrize("section", example.SECTIONS, ids=lambda s: s.__name__)
def test_section_matches_torch(section):
    torch = torch_or_skip()
    assert_same(section(juanji), section(torch), path=section.__name__)


def test_numpy_style_axis_and_keepdims_aliases_as_in_the_book():
    torch = torch_or_skip()
    assert_same(example.reductions_numpy_style(juanji), example.reductions_numpy_style(torch))


@pytest.mark.parametrize("call", [
    lambda t, A: A.sum(axis=0),
    lambda t, A: A.sum(axis=1, keepdims=True),
    lambda t, A: A.mean(axis=(0, 1)),
    lambda t, A: A.max(axis=1).values,
    lambda t, A: A.argmax(axis=1),
    lambda t, A: A.std(axis=0),
    lambda t, A: A.softmax(axis=1),
    lambda t, A: t.sum(A, axis=0),
    lambda t, A: t.cat((A, A), axis=1),
    lambda t, A: t.stack((A, A), axis=0),
], ids=["sum", "sum-keepdims", "mean-tuple", "max", "argmax", "std", "softmax", "torch.sum", "cat", "stack"])
def test_each_op_with_a_dim_accepts_axis(call):
    torch = torch_or_skip()
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert_same(call(juanji, juanji.tensor(data)), call(torch, torch.tensor(data)))


def test_numpy_views_share_memory_both_ways():
    X = juanji.arange(6, dtype=juanji.float32).reshape(2, 3)
    A = X.numpy()
    A[1, 1] = -1.0
    assert X[1, 1].item() == -1.0
    B = juanji.from_numpy(A)
    B[0, 0] = 7.0
    assert A[0, 0] == 7.0
    C = juanji.tensor(A)  # torch.tensor copies
    A[0, 0] = 8.0
    assert C[0, 0].item() == 7.0 and B[0, 0].item() == 8.0


def test_float_and_int_of_a_one_element_tensor_and_their_errors():
    a = juanji.tensor([3.5])
    assert (a.item(), float(a), int(a)) == (3.5, 3.5, 3)
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to Scalar"):
        juanji.ones(2).item()


def _printed(library_flag):
    env = dict(os.environ, PYTHONPATH=str(EXAMPLES.parent) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, str(EXAMPLES / "d2l_tensor_basics.py"), *library_flag],
                          capture_output=True, text=True, env=env, timeout=120)
    return done.returncode, done.stdout


def _sections(stdout):
    """The printed output cut into sections, keyed by the section name."""
    sections, name = {}, None
    for line in stdout.splitlines():
        if line.startswith("== "):
            name = line[3:].split(":")[0]
            sections[name] = [line]
        elif name is not None:
            sections[name].append(line)
    return sections


def test_the_script_prints_what_torch_prints():
    torch_or_skip()
    j_code, j_out = _printed([])
    t_code, t_out = _printed(["--torch"])
    assert t_code == 0
    j_sections, t_sections = _sections(j_out.replace("juanji", "torch")), _sections(t_out)
    assert list(j_sections) == [section.__name__ for section in example.SECTIONS] == list(t_sections)
    for section in example.SECTIONS:
        assert j_sections[section.__name__] == t_sections[section.__name__], section.__name__
    assert j_code == 0


@pytest.mark.parametrize("name", ["rand", "randn"])
def test_random_creation_accepts_size_keyword(name):
    x = getattr(juanji, name)(size=(2, 3))  # d2l writes torch.randn(size=(2, 20))
    assert x.shape == (2, 3) and x.dtype == juanji.float32


def test_legacy_typed_constructors_give_their_dtype():
    torch = torch_or_skip()
    for name in ("LongTensor", "FloatTensor", "DoubleTensor"):
        assert_same(getattr(juanji, name)([1, 2]), getattr(torch, name)([1, 2]), path=name)


def test_size_arithmetic_and_slicing_stay_sizes():
    """d2l's comp_conv2d prints X.reshape((1, 1) + X.shape).shape."""
    torch = torch_or_skip()
    for make in (lambda t: (1, 1) + t.ones(2, 3).shape, lambda t: t.ones(2, 3).shape + (1,),
                 lambda t: t.ones(2, 3, 4).shape[1:]):
        assert_same(make(juanji), make(torch))
