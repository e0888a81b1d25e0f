"""juanji's modules import one way: no import cycle (scripts/check_imports.py builds the graph from
``ast``; imports inside functions count). And the checker itself finds the cycles it should."""

import importlib.util
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _checker():
    spec = importlib.util.spec_from_file_location("check_imports", ROOT / "scripts" / "check_imports.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("check_imports", module)
    spec.loader.exec_module(module)
    return module


check_imports = _checker()

_FULL_GRAPH = check_imports.module_graph(ROOT / "juanji")


def _graph():
    return {name: set(targets) for name, targets in _FULL_GRAPH.items()}


def _describe(graph, components):
    return "\n".join(" -> ".join(check_imports.example_circle(graph, c)) + f"   ({len(c)} modules: "
                     + ", ".join(sorted(c)) + ")" for c in components)


def test_juanji_has_no_import_cycle():
    graph = _graph()
    found = check_imports.cycles(graph)
    assert not found, "import cycles (a module reaches back to one that imports it):\n" + _describe(graph, found)


def test_no_module_the_package_root_loads_imports_from_the_root():
    found = check_imports.root_importers(_graph(), check_imports.lazy_submodules(ROOT / "juanji"))
    assert not found, f"these import names from juanji/__init__.py; import them from their own module: {found}"


def test_no_layer_imports_from_a_layer_above_it():
    names = [name for name, _ in check_imports.LAYERS]
    found = [f"{a} ({names[check_imports.layer_of(a)]}) -> {b} ({names[check_imports.layer_of(b)]})"
             for a, b in check_imports.upward_imports(_graph())]
    assert not found, "imports from a higher layer (see LAYERS in scripts/check_imports.py):\n" + "\n".join(found)


def test_every_layer_prefix_names_a_module():
    # a misspelt or moved module would silently fall to the top layer, where anything goes
    modules = set(_graph())
    missing = [p for _, prefixes in check_imports.LAYERS for p in prefixes
               if not any(m == p or m.startswith(p + ".") for m in modules)]  # kernels/ has no __init__
    assert not missing, f"LAYERS names modules that do not exist: {missing}"


def test_the_whole_check_passes_from_the_command_line():
    assert check_imports.main([]) == 0


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


def test_an_import_from_a_higher_layer_is_reported():
    layers = [("low", ["pkg.low"]), ("high", ["pkg.high"]), ("tools", ["pkg"])]
    graph = {"pkg": {"pkg.high"}, "pkg.low": {"pkg.high"}, "pkg.high": {"pkg.low.deep"}, "pkg.low.deep": set()}
    assert check_imports.layer_of("pkg.low.deep", layers) == 0 and check_imports.layer_of("pkg.other", layers) == 2
    assert check_imports.upward_imports(graph, layers) == [("pkg.low", "pkg.high")]
