"""Which of torchvision's public names juanji.vision has, against the installed torchvision 0.28: every
name is there except the deliberate exceptions below (each with its reason). The test fails both ways:
when a name goes missing, and when an exception gets implemented (then strike it from the list)."""

import types

import pytest

import juanji.vision
import juanji.vision.transforms as transforms_v1
from juanji.vision.transforms import functional as functional_v1
from juanji.vision.transforms import v2
from juanji.vision.transforms.v2 import functional as functional_v2

VIDEO_IO = "video decoding and temporal subsampling are out of scope"
JPEG = "JPEG needs torchvision.io's libjpeg codecs"

EXCEPTIONS = {
    "transforms.v2": {"JPEG": JPEG, "UniformTemporalSubsample": VIDEO_IO},
    "transforms.v2.functional": {
        "jpeg": JPEG, "jpeg_image": JPEG, "jpeg_video": JPEG,
        "uniform_temporal_subsample": VIDEO_IO, "uniform_temporal_subsample_video": VIDEO_IO},
    "transforms.functional": {"accimage": "the accimage backend is not supported",
                              "pil_modes_mapping": "internal table of torchvision"},
    "tv_tensors": {"set_return_type": "juanji's ops always return plain Tensors (torchvision's default)"},
    "utils": {"flow_to_image": "optical flow is out of scope"},
}


def _public(module):
    """Names a user can reach: torchvision's own functions, classes and constants (not re-exported modules)."""
    names = getattr(module, "__all__", None) or dir(module)
    out = []
    for name in names:
        value = getattr(module, name, None)
        if name.startswith("_") or isinstance(value, types.ModuleType):
            continue
        owner = getattr(value, "__module__", "torchvision") or "torchvision"
        if owner.startswith("torchvision") or not callable(value):
            out.append(name)
    return out


@pytest.mark.parametrize("where, ours", [("transforms.v2", v2), ("transforms.v2.functional", functional_v2),
                                         ("transforms", transforms_v1), ("transforms.functional", functional_v1),
                                         ("tv_tensors", juanji.vision.tv_tensors), ("utils", juanji.vision.utils)])
def test_every_torchvision_name_is_there_or_a_listed_exception(tv, where, ours):
    theirs = tv
    for part in where.split("."):
        theirs = getattr(theirs, part)
    names = [n for n in _public(theirs) if not isinstance(getattr(theirs, n), (int, str)) or n.isupper()]
    missing = sorted(n for n in names if not hasattr(ours, n))
    assert missing == sorted(n for n in EXCEPTIONS.get(where, {}) if n in names)


def test_the_datasets_of_the_issue_and_the_top_level_helpers_are_there(tv):
    for name in ("MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "SVHN", "FakeData", "DatasetFolder", "ImageFolder",
                 "VisionDataset", "VOCSegmentation"):
        assert hasattr(juanji.vision.datasets, name) and hasattr(tv.datasets, name)
    for name in ("get_image_backend", "set_image_backend", "get_video_backend", "set_video_backend",
                 "disable_beta_transforms_warning"):
        assert callable(getattr(juanji.vision, name)) and hasattr(tv, name)
    assert juanji.vision.get_image_backend() == tv.get_image_backend() == "PIL"
    for name in ("ImageReadMode", "read_file", "write_file", "decode_image", "decode_png", "decode_jpeg", "read_image",
                 "encode_png", "encode_jpeg", "write_png", "write_jpeg"):
        assert hasattr(juanji.vision.io, name) and hasattr(tv.io, name)
