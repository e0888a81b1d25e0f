"""Shared helpers for the ``d2l_*`` tutorial scripts.

Every ``d2l_*.py`` script is ordinary PyTorch tutorial code (after *Dive into Deep Learning*)
written as functions that take the library as their first argument::

    def linear_regression_concise(torch, ...):
        nn = torch.nn
        net = nn.Sequential(nn.Linear(2, 1))
        ...

so the very same lines run with ``juanji`` and with PyTorch, and the tests in
``tests/test_compat_*.py`` compare the two runs number for number. This module holds what the
scripts share: picking the library on the command line, moving weights between the two
libraries through NumPy (so both runs start from the same initial weights), the Fashion-MNIST
sample as NumPy arrays, and printing results.
"""

from __future__ import annotations

import importlib
import sys

import numpy as np

__all__ = ["library", "numpy_state", "load_numpy_state", "fashion_sample", "show", "run_sections"]


def library(argv=None):
    """``juanji``, or PyTorch when ``--torch`` is on the command line."""
    argv = sys.argv[1:] if argv is None else argv
    return importlib.import_module("torch" if "--torch" in argv else "juanji")


def numpy_state(net) -> dict:
    """A module's ``state_dict()`` as NumPy copies: a library-neutral snapshot of its weights."""
    return {name: value.detach().cpu().numpy().copy() for name, value in net.state_dict().items()}


def load_numpy_state(torch, net, state) -> None:
    """Load a :func:`numpy_state` snapshot (possibly taken from the other library) into ``net``."""
    net.load_state_dict({name: torch.tensor(value) for name, value in state.items()})


def fashion_sample(n_train: int, n_test: int):
    """The first ``n_train``/``n_test`` images of juanji's embedded Fashion-MNIST sample as NumPy
    arrays, scaled like ``transforms.ToTensor()``: float32 ``[n, 1, 28, 28]`` in [0, 1], int64 labels.

    Both libraries read the same arrays, so their runs see the same data. The sample is stratified
    but stored class by class, so a fixed NumPy permutation mixes the classes first.
    """
    from juanji.vision.datasets import load_sample

    out = []
    for train, n in ((True, n_train), (False, n_test)):
        images, labels = load_sample(train=train)
        order = np.random.default_rng(0).permutation(len(labels))[:n]
        out.append(images[order, None].astype(np.float32) / 255.0)
        out.append(labels[order].astype(np.int64))
    return tuple(out)


def show(title: str, results: dict) -> None:
    """Print a section's results, one ``name: value`` per line."""
    print(f"== {title}")
    for name, value in results.items():
        text = str(value)
        if "\n" in text:
            text = "\n    " + text.replace("\n", "\n    ")
        print(f"  {name}: {text}")


def run_sections(torch, sections) -> int:
    """Run each ``section(torch)`` and print its results; a section that raises is reported and
    the others still run. Returns the number of failed sections (the script's exit status)."""
    failed = 0
    for section in sections:
        try:
            show(section.__name__, section(torch))
        except Exception as error:  # a tutorial step the library cannot run yet: say which and go on
            failed += 1
            print(f"== {section.__name__}: FAILED with {type(error).__name__}: {error}")
    return failed
