"""Find import cycles among juanji's modules, from the source alone (``ast``, nothing is imported).

    python scripts/check_imports.py            # prints each cycle; exit status 1 if there is one

(tests/test_import_cycles.py runs it in the default test run.)

The layers import one way only (see docs/internals.md): kernels -> autograd -> ops -> tensor ->
nn.functional -> nn -> vision / training / explain -> cli. A cycle means two modules each need
the other, so neither can be read, tested or moved on its own.

What counts as an edge ``A -> B`` (A imports B):

- every ``import``/``from ... import`` statement in A, wherever it stands: at module level,
  inside a function or method, under ``if``/``try``. An import inside a function runs later,
  but it is still a dependency of A on B, and moving an import into a function to dodge a
  circle hides the circle without removing it; so it counts the same;
- ``from P import name``: an edge to the submodule ``P.name`` when there is one, else to the
  package ``P`` itself (its ``__init__``, where ``name`` must be defined);
- importing ``P.Q.M`` runs the ``__init__`` of ``P.Q`` first, so it is an edge to those
  packages too, except the ones that contain A (Python has initialised them before A runs);
- imports from outside juanji (numpy, numba, ...) are ignored, and so are dynamic imports
  (``importlib.import_module`` with a computed name), which ``ast`` cannot resolve: the one in
  ``juanji/__init__.py`` (the lazy ``juanji.nn`` etc.) is the package's top, which nothing
  below imports.

A cycle is a strongly connected component of this graph with more than one module; for each,
one shortest circle through it is printed as an example.

No cycle is not yet one way: ``LAYERS`` below names juanji's layers, bottom first, by module
prefix (the longest prefix that matches places a module; what no prefix names is a tool on top).
An import from a lower layer into a higher one is reported too (``upward_imports``).

The package root (``juanji/__init__.py``) is the top of everything it loads: what it imports,
and the subpackages its ``__getattr__`` loads on first use (``juanji.nn`` and friends: a
dynamic import this graph cannot see; their names are read from the ``name in (...)`` test
there). A module it loads that imports a name from the root closes a circle through it even
where the graph shows none; those are reported too (``root_importers``): they should import
from the module that defines the name. Modules the root does not load (the ``juanji`` command,
for one) are above it and may use it as user code does.
"""

from __future__ import annotations

import ast
import sys
from collections import deque
from pathlib import Path

__all__ = ["LAYERS", "module_graph", "cycles", "lazy_submodules", "root_importers", "upward_imports", "layer_of",
           "example_circle", "main"]

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "juanji"

# juanji's layers, bottom first: (name, module prefixes). A module may import from its own layer
# and the ones below it. The tools on top (vision, training, explain, onnx, optim, utils.data,
# hub, checkpoint, serialization -- it pickles nn.Parameter --, compile, the juanji command, and
# the package root) are everything no prefix names.
LAYERS = [
    ("kernels", ["juanji.kernels", "juanji.backend", "juanji._dtype", "juanji.threads", "juanji.version",
                 "juanji._atomic", "juanji._layouts",
                 # the device runtime (torch.cpu, torch.cuda, torch.amp, torch.accelerator, torch.backends):
                 # switches and answers over backend.py, below the Tensor
                 "juanji.cpu", "juanji.cuda", "juanji.amp", "juanji.accelerator", "juanji.backends"]),
    ("autograd", ["juanji.autograd"]),
    ("ops", ["juanji.ops"]),
    ("tensor", ["juanji.tensor", "juanji._tensor", "juanji.creation", "juanji.functions", "juanji.functions_math",
                "juanji.functions_more", "juanji.from_memory", "juanji._out", "juanji.linalg", "juanji.random",
                "juanji.settings", "juanji.utils", "juanji.utils.hooks", "juanji.distributed"]),
    ("nn.functional", ["juanji.nn.functional"]),
    ("nn", ["juanji.nn"]),
    ("tools", [PACKAGE, "juanji.utils.model_zoo", "juanji.utils.checkpoint"]),
]


def _module_names(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the package (``__init__`` is the package)."""
    names = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _imported(node: ast.AST, module: str, is_package: bool) -> list[tuple[str, list[str]]]:
    """(base module, imported names) for one import statement; names empty for ``import x``."""
    if isinstance(node, ast.Import):
        return [(alias.name, []) for alias in node.names]
    if node.level == 0:
        base = node.module or ""
    else:
        here = module.split(".") if is_package else module.split(".")[:-1]
        up = here[:len(here) - (node.level - 1)] if node.level > 1 else here
        base = ".".join(up + ([node.module] if node.module else []))
    return [(base, [alias.name for alias in node.names])]


def _ancestors(module: str) -> list[str]:
    """The packages containing ``module``: ``a.b.c`` -> ``a``, ``a.b``."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _target(name: str, modules: dict) -> str | None:
    """``name`` if it is a module of the package, else the longest prefix that is (``a.b.attr`` -> ``a.b``)."""
    while name not in modules:
        if "." not in name:
            return None
        name = name.rsplit(".", 1)[0]
    return name


def module_graph(package_dir: Path = ROOT / PACKAGE) -> dict[str, set[str]]:
    """module -> the modules it imports, for the package in ``package_dir`` (see the module
    docstring for what counts)."""
    package = package_dir.name
    modules = _module_names(package_dir)
    graph = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        initialised = set(_ancestors(name)) | {name}  # packages Python has run before this module
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for base, names in _imported(node, name, is_package):
                if base != package and not base.startswith(package + "."):
                    continue  # from outside the package
                for n in names or [None]:
                    sub = f"{base}.{n}" if n is not None else base
                    target = sub if sub in modules else _target(base, modules)
                    if target is None:
                        continue
                    if target != name:
                        graph[name].add(target)  # named explicitly: an edge even to a containing package
                    graph[name].update(p for p in _ancestors(target) if p in modules and p not in initialised)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return sorted(found, key=lambda c: (-len(c), sorted(c)))


def lazy_submodules(package_dir: Path = ROOT / PACKAGE) -> set[str]:
    """The subpackages the root's ``__getattr__`` imports on first use: the strings of the
    ``name in (...)`` test in it."""
    tree = ast.parse((package_dir / "__init__.py").read_text(encoding="utf-8"))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            for test in ast.walk(node):
                if isinstance(test, ast.Compare) and any(isinstance(op, ast.In) for op in test.ops):
                    for const in ast.walk(test):
                        if isinstance(const, ast.Constant) and isinstance(const.value, str):
                            names.add(f"{package_dir.name}.{const.value}")
    return names


def root_importers(graph: dict[str, set[str]], lazy: set[str] = frozenset()) -> list[str]:
    """The modules the package root loads (imports, or are under the ``lazy`` subpackages) that
    import from the root itself."""
    root = min(graph, key=len)
    loaded, stack = set(), [root] + [m for m in graph if any(m == p or m.startswith(p + ".") for p in lazy)]
    while stack:
        name = stack.pop()
        if name not in loaded:
            loaded.add(name)
            stack.extend(graph[name])
    return sorted(name for name in loaded if name != root and root in graph[name])


def layer_of(module: str, layers=LAYERS) -> int:
    """The index in ``layers`` of ``module``'s layer: the one whose prefix matches it longest."""
    best, best_len = len(layers) - 1, -1
    for i, (_, prefixes) in enumerate(layers):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best_len:
                best, best_len = i, len(prefix)
    return best


def upward_imports(graph: dict[str, set[str]], layers=LAYERS) -> list[tuple[str, str]]:
    """The edges ``(A, B)`` where A's layer is below B's: a lower layer reaching up."""
    return sorted((a, b) for a, targets in graph.items() for b in targets if layer_of(a, layers) < layer_of(b, layers))


def example_circle(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """One shortest circle inside ``component``, as a list of modules ending where it starts."""
    best = None
    for start in sorted(component):
        parent = {start: None}  # breadth-first search from start, back to start
        queue = deque([start])
        circle = None
        while queue and circle is None:
            node = queue.popleft()
            for child in sorted(graph[node] & component):
                if child == start:
                    circle = _path_to(parent, node) + [start]
                    break
                if child not in parent:
                    parent[child] = node
                    queue.append(child)
        if circle is not None and (best is None or len(circle) < len(best)):
            best = circle
    return best


def _path_to(parent: dict, node: str) -> list[str]:
    path = [node]
    while parent[path[-1]] is not None:
        path.append(parent[path[-1]])
    return path[::-1]


def main(argv=None) -> int:
    """Print the cycles among juanji's modules (or the package given as the one argument)."""
    package_dir = Path(argv[0]).resolve() if argv else ROOT / PACKAGE
    graph = module_graph(package_dir)
    from_root = root_importers(graph, lazy_submodules(package_dir))
    root = min(graph, key=len)
    found = cycles({name: targets - {root} if name in from_root else targets for name, targets in graph.items()})
    upward = upward_imports(graph) if package_dir.name == PACKAGE else []
    if not found and not from_root and not upward:
        print(f"no import cycles among {len(graph)} modules" + (", none reaching up a layer" if
                                                              package_dir.name == PACKAGE else ""))
        return 0
    for component in found:
        print(f"cycle of {len(component)} modules: " + " -> ".join(example_circle(graph, component)))
        if len(component) > 2:
            print("    all of: " + ", ".join(sorted(component)))
    for name in from_root:
        print(f"{name} imports from the package root, which loads it (circles through the root not listed above)")
    names = [name for name, _ in LAYERS]
    for a, b in upward:
        print(f"{a} ({names[layer_of(a)]}) imports {b} ({names[layer_of(b)]}), a layer above it")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
