"""The examples in juanji.explain's docstrings run and print what they say."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module_name", ["juanji.explain.windows", "juanji.explain.flops",
                                         "juanji.explain.receptive_field", "juanji.explain.summary"])
def test_docstring_examples(module_name):
    result = doctest.testmod(importlib.import_module(module_name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
