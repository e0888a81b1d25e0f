"""juanji's modules import one way: no import cycle (scripts/check_imports.py builds the graph from
``ast``; imports inside functions count). And the checker itself finds the cycles it should."""

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _checker():
    spec = importlib.util.spec_from_file_location("check_imports", ROOT / "scripts" / "check_imports.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("check_imports", module)
    spec.loader.exec_module(module)
    return module


check_imports = _checker()

# Cycles known when this test was written, each removed by its owner under issue 8; the list
# only shrinks (a test below fails when an entry no longer exists, so it is taken out).
KNOWN_CYCLES = [
    # owner: interop (serialization.py and safetensors.py import each other)
    {"juanji.safetensors", "juanji.serialization"},
    # owner: interop (vision/models/transfer.py takes get_model from the package that imports it)
    {"juanji.vision.models", "juanji.vision.models.transfer"},
    # owner: compat-vision (transforms.functional and the v2 functional package import each other)
    {"juanji.vision.transforms.functional", "juanji.vision.transforms.transforms", "juanji.vision.transforms.v2",
     "juanji.vision.transforms.v2._augment", "juanji.vision.transforms.v2._auto_augment",
     "juanji.vision.transforms.v2._color", "juanji.vision.transforms.v2._container",
     "juanji.vision.transforms.v2._geometry", "juanji.vision.transforms.v2._meta", "juanji.vision.transforms.v2._misc",
     "juanji.vision.transforms.v2._transform", "juanji.vision.transforms.v2._type_conversion",
     "juanji.vision.transforms.v2._utils", "juanji.vision.transforms.v2.functional",
     "juanji.vision.transforms.v2.functional._color", "juanji.vision.transforms.v2.functional._geometry",
     "juanji.vision.transforms.v2.functional._keypoints", "juanji.vision.transforms.v2.functional._misc",
     "juanji.vision.transforms.v2.functional._type_conversion"},
]

# Modules the package root loads that import from the root (a circle through the root, whatever
# the graph shows: see scripts/check_imports.py); same rule: the list only shrinks. Their edge to
# the root is left out when the cycles above are computed, so that each is counted once.
KNOWN_ROOT_IMPORTERS = [
    "juanji.onnx._export",  # owner: interop (``from .. import __version__``)
    "juanji.settings",  # owner: compat-core (get_device_module's ``import juanji``)
]


def _graph():
    graph = check_imports.module_graph(ROOT / "juanji")
    for name in KNOWN_ROOT_IMPORTERS:
        graph.get(name, set()).discard("juanji")
    return graph


def _describe(graph, components):
    return "\n".join(" -> ".join(check_imports.example_circle(graph, c)) + f"   ({len(c)} modules: "
                     + ", ".join(sorted(c)) + ")" for c in components)


def test_juanji_has_no_import_cycle_beyond_the_known_ones():
    graph = _graph()
    found = check_imports.cycles(graph)
    new = [c for c in found if not any(c <= set(known) for known in KNOWN_CYCLES)]
    assert not new, "import cycles (a module reaches back to one that imports it):\n" + _describe(graph, new)


@pytest.mark.parametrize("known", KNOWN_CYCLES, ids=lambda c: " <-> ".join(sorted(c)))
def test_each_known_cycle_still_exists_else_take_it_off_the_list(known):
    found = check_imports.cycles(_graph())
    assert any(set(known) <= c for c in found), f"{sorted(known)} is no longer a cycle: remove it from KNOWN_CYCLES"


def test_no_module_imports_from_the_package_root_beyond_the_known_ones():
    found = check_imports.root_importers(check_imports.module_graph(ROOT / "juanji"),
                                         check_imports.lazy_submodules(ROOT / "juanji"))
    new = sorted(set(found) - set(KNOWN_ROOT_IMPORTERS))
    assert not new, f"these import names from juanji/__init__.py; import them from their own module: {new}"
    gone = sorted(set(KNOWN_ROOT_IMPORTERS) - set(found))
    assert not gone, f"no longer import the package root: remove them from KNOWN_ROOT_IMPORTERS: {gone}"


def _package(tmp_path, files):
    pkg = tmp_path / "pkg"
    for name, text in files.items():
        path = pkg / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return pkg


def test_an_import_inside_a_function_is_an_edge(tmp_path):
    pkg = _package(tmp_path, {
        "__init__.py": "",
        "low.py": "def f():\n    from .high import g\n    return g\n",
        "high.py": "from .low import f\n",
    })
    graph = check_imports.module_graph(pkg)
    assert graph["pkg.low"] == {"pkg.high"} and graph["pkg.high"] == {"pkg.low"}
    assert check_imports.cycles(graph) == [{"pkg.low", "pkg.high"}]
    assert check_imports.main([str(pkg)]) == 1


def test_importing_a_name_from_a_package_is_an_edge_to_its_init(tmp_path):
    # sub/a.py takes a name from the package root, whose __init__ imports sub/a.py
    pkg = _package(tmp_path, {
        "__init__.py": "from .sub.a import thing\nwhere = 1\n",
        "sub/__init__.py": "",
        "sub/a.py": "from .. import where\nthing = where\n",
    })
    graph = check_imports.module_graph(pkg)
    assert "pkg" in graph["pkg.sub.a"]
    assert {"pkg", "pkg.sub.a"} <= check_imports.cycles(graph)[0]
    assert check_imports.root_importers(graph) == ["pkg.sub.a"]


def test_a_lazily_loaded_subpackage_may_not_import_the_root_but_a_tool_above_it_may(tmp_path):
    pkg = _package(tmp_path, {
        "__init__.py": "def __getattr__(name):\n    import importlib\n    if name in ('nn',):\n"
                       "        return importlib.import_module('.' + name, __name__)\n",
        "nn/__init__.py": "from .. import thing\n",
        "cli.py": "import pkg\n",
    })
    graph = check_imports.module_graph(pkg)
    assert check_imports.lazy_submodules(pkg) == {"pkg.nn"}
    assert check_imports.cycles(graph) == []  # the lazy import is invisible to the graph ...
    assert check_imports.root_importers(graph, {"pkg.nn"}) == ["pkg.nn"]  # ... but not to this rule
    assert check_imports.main([str(pkg)]) == 1


def test_a_sibling_packages_init_counts_but_ones_own_packages_does_not(tmp_path):
    pkg = _package(tmp_path, {
        "__init__.py": "",
        "ops/__init__.py": "from . import add\n",
        "ops/add.py": "from ..core import run\n",
        "core/__init__.py": "from .run import run\n",
        "core/run.py": "import numpy\n\ndef run():\n    pass\n",
    })
    graph = check_imports.module_graph(pkg)
    assert graph["pkg.ops.add"] == {"pkg.core", "pkg.core.run"}  # core/__init__ runs first
    assert graph["pkg.ops"] == {"pkg.ops.add"} and graph["pkg.core.run"] == set()
    assert check_imports.cycles(graph) == [] and check_imports.root_importers(graph) == []
    assert check_imports.main([str(pkg)]) == 0
