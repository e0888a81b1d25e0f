"""Every ``>>>`` example in the package runs, with only the imports it writes itself.

Each module's examples run in a fresh, empty namespace (not the module's globals), so an
example that uses a name it never imports fails here, as it would for a reader who copies it.
"""

import doctest
import importlib
import pkgutil

import pytest

import juanji

FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


def _modules_with_examples() -> list[str]:
    finder = doctest.DocTestFinder()
    names = []
    for info in pkgutil.walk_packages(juanji.__path__, "juanji."):
        if info.name.endswith("__main__"):
            continue  # running it is the command itself
        module = importlib.import_module(info.name)
        if any(test.examples for test in finder.find(module, info.name, globs={})):
            names.append(info.name)
    return sorted(names)


MODULES = _modules_with_examples()


def test_the_package_has_examples_to_run():
    assert len(MODULES) >= 50, MODULES


@pytest.mark.parametrize("module_name", MODULES)
def test_examples_run_with_their_own_imports(module_name):
    module = importlib.import_module(module_name)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report = []
    for test in doctest.DocTestFinder().find(module, module_name, globs={}):
        if test.examples:
            runner.run(test, out=report.append)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0
    assert result.failed == 0, "".join(report)
