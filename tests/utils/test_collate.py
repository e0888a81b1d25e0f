"""default_collate / default_convert against torch: structure, container types, dtypes, values."""

from __future__ import annotations

import collections

import numpy as np
import pytest

import juanji
from juanji.utils.data import default_collate, default_convert
from juanji.utils.data._collate import collate, collate_tensor_fn, default_collate_fn_map

from ._describe import describe

torch = pytest.importorskip("torch")
tdata = torch.utils.data

Point = collections.namedtuple("Point", ["x", "y"])


# Each case builds the batch with a tensor library T (juanji or torch), so the same samples
# can be collated by both.
CASES = {
    "float32 tensors": lambda T: [T.tensor([1.5, 2.0]), T.tensor([3.0, 4.0])],
    "int64 tensors 2d": lambda T: [T.tensor([[1, 2]]), T.tensor([[3, 4]])],
    "bool tensors": lambda T: [T.tensor([True]), T.tensor([False])],
    "scalar tensors": lambda T: [T.tensor(1.0), T.tensor(2.0)],
    "python floats": lambda T: [1.5, 2.0, -3.25],
    "python ints": lambda T: [1, 2, 3],
    "python bools": lambda T: [True, False],
    "int then float": lambda T: [1, 2.5],
    "float then int": lambda T: [1.0, 2],
    "numpy float32 arrays": lambda T: [np.ones((2, 2), np.float32), np.zeros((2, 2), np.float32)],
    "numpy int32 arrays": lambda T: [np.arange(3, dtype=np.int32), np.arange(3, dtype=np.int32)],
    "numpy uint8 arrays": lambda T: [np.full(2, 255, np.uint8), np.zeros(2, np.uint8)],
    "numpy float64 scalars": lambda T: [np.float64(1.5), np.float64(2.5)],
    "numpy float32 scalars": lambda T: [np.float32(1.5), np.float32(2.5)],
    "numpy int64 scalars": lambda T: [np.int64(4), np.int64(5)],
    "numpy bool scalars": lambda T: [np.bool_(True), np.bool_(False)],
    "strings": lambda T: ["a", "bc"],
    "bytes": lambda T: [b"a", b"bc"],
    "tuples": lambda T: [(T.tensor([1.0]), 1, "a"), (T.tensor([2.0]), 2, "b")],
    "lists": lambda T: [[T.tensor([1.0]), 1.5], [T.tensor([2.0]), 2.5]],
    "dicts": lambda T: [{"x": T.tensor([1, 2]), "y": 0.5}, {"x": T.tensor([3, 4]), "y": 1.5}],
    "ordered dicts": lambda T: [collections.OrderedDict(b=1, a=2), collections.OrderedDict(b=3, a=4)],
    "namedtuples": lambda T: [Point(T.tensor([1.0]), 1), Point(T.tensor([2.0]), 2)],
    "nested": lambda T: [{"pair": (np.ones(2, np.float32), [1, "s"])}, {"pair": (np.zeros(2, np.float32),
                                                                                  [2, "t"])}],
    "ranges stay sequences": lambda T: [range(2), range(2, 4)],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_default_collate_matches_torch(case):
    ours = default_collate(CASES[case](juanji))
    theirs = tdata.default_collate(CASES[case](torch))
    assert describe(ours) == describe(theirs)


@pytest.mark.parametrize("case", sorted(CASES))
def test_default_convert_matches_torch(case):
    sample_ours, sample_theirs = CASES[case](juanji)[0], CASES[case](torch)[0]
    assert describe(default_convert(sample_ours)) == describe(tdata.default_convert(sample_theirs))


def test_default_convert_keeps_string_arrays_and_other_objects():
    strings = np.array(["a", "b"])
    assert default_convert(strings) is strings
    marker = object()
    assert default_convert(marker) is marker
    assert isinstance(default_convert(np.float32(2.0)), juanji.Tensor)


def test_collated_tensors_are_new_memory():
    a, b = juanji.zeros(2), juanji.ones(2)
    batch = default_collate([a, b])
    batch[0, 0] = 5.0
    assert a.tolist() == [0.0, 0.0]


def test_collating_tensors_that_require_grad_keeps_the_graph():
    a = juanji.tensor([1.0, 2.0], requires_grad=True)
    b = juanji.tensor([3.0, 4.0], requires_grad=True)
    batch = default_collate([a, b])
    (batch * juanji.tensor([[1.0, 1.0], [2.0, 2.0]])).sum().backward()
    assert a.grad.tolist() == [1.0, 1.0] and b.grad.tolist() == [2.0, 2.0]


def test_collating_tensors_of_different_dtypes_promotes_like_torch():
    ours = default_collate([juanji.tensor([1], dtype=juanji.int32), juanji.tensor([1.5])])
    theirs = tdata.default_collate([torch.tensor([1], dtype=torch.int32), torch.tensor([1.5])])
    assert describe(ours) == describe(theirs)


# ------------------------------------------------------------------ errors
def test_tensors_of_different_shapes_name_the_item_and_both_shapes():
    batch = [juanji.zeros(3, 32, 32)] * 3 + [juanji.zeros(3, 30, 30)]
    with pytest.raises(RuntimeError, match=r"default_collate: item 3 of the batch has shape \[3, 30, 30\], "
                                           r"but item 0 has shape \[3, 32, 32\]"):
        default_collate(batch)
    with pytest.raises(RuntimeError):
        tdata.default_collate([torch.zeros(3, 32, 32)] * 3 + [torch.zeros(3, 30, 30)])


def test_shape_error_inside_a_structure_names_the_sample():
    batch = [(juanji.zeros(2), 0), (juanji.zeros(2), 1), (juanji.zeros(5), 2)]
    with pytest.raises(RuntimeError, match=r"item 2 of the batch has shape \[5\], but item 0 has shape \[2\]"):
        default_collate(batch)


def test_numpy_arrays_of_different_shapes_are_reported_too():
    with pytest.raises(RuntimeError, match=r"item 1 of the batch has shape \[3\], but item 0 has shape \[2\]"):
        default_collate([np.zeros(2), np.zeros(3)])


def test_sequences_of_different_lengths_fail_like_torch():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size.*item 1 of the "
                                           "batch has 1 elements, but item 0 has 2"):
        default_collate([[1, 2], [3]])
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        tdata.default_collate([[1, 2], [3]])


@pytest.mark.parametrize("make", [lambda: [object(), object()], lambda: [None, None],
                                  lambda: [np.array(["a"]), np.array(["b"])],
                                  lambda: [np.array([object()]), np.array([object()])]],
                         ids=["objects", "None", "string arrays", "object arrays"])
def test_unsupported_elements_give_torch_type_error(make):
    with pytest.raises(TypeError) as ours:
        default_collate(make())
    with pytest.raises(TypeError) as theirs:
        tdata.default_collate(make())
    assert str(ours.value) == str(theirs.value)


def test_empty_batch_is_a_clear_error():
    with pytest.raises(IndexError, match="default_collate: the batch is empty"):
        default_collate([])


# ------------------------------------------------------------------ extending collate
def test_collate_with_a_custom_map_overrides_a_leaf_type():
    def halve(batch, *, collate_fn_map):
        return collate_tensor_fn(batch) / 2

    custom = {**default_collate_fn_map, juanji.Tensor: halve}
    out = collate([(juanji.tensor([2.0]), 1), (juanji.tensor([4.0]), 2)], collate_fn_map=custom)
    assert out[0].tolist() == [[1.0], [2.0]]
    assert out[1].tolist() == [1, 2]


def test_torch_import_path_for_extending_collate_works():
    import juanji as torch_like
    from juanji.utils.data._utils.collate import collate as collate_from_torch_path

    assert collate_from_torch_path is collate
    assert torch_like.utils.data._utils.collate.default_collate_fn_map is default_collate_fn_map


def test_mapping_that_cannot_be_rebuilt_falls_back_to_dict():
    class Frozen(collections.abc.Mapping):
        def __init__(self, data):
            self._data = dict(data)

        def __getitem__(self, k):
            return self._data[k]

        def __iter__(self):
            return iter(self._data)

        def __len__(self):
            return len(self._data)

    out = default_collate([Frozen({"a": 1}), Frozen({"a": 2})])
    assert isinstance(out, Frozen) and out["a"].tolist() == [1, 2]

    class NoRebuild(Frozen):
        def __init__(self, data, tag):
            super().__init__(data)

    out = default_collate([NoRebuild({"a": 1}, 0), NoRebuild({"a": 2}, 0)])
    assert type(out) is dict and out["a"].tolist() == [1, 2]
