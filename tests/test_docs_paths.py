"""docs/internals.md stays true to the tree: every file or folder it names exists (a path such as
``juanji/ops/conv.py`` or ``kernels/conv.py``, relative to the repository or the package; a bare
``loop.py`` somewhere in the package; ``nn/functional/_args.shape_text``: the file, defining the
name), and every dotted ``juanji.`` name it gives can be found (a module, or a name in one)."""

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "internals.md"
# the folders a path in the doc may be written relative to: the repository, or the package
BASES = [ROOT, ROOT / "juanji"]


def _code_spans(text: str) -> list[str]:
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # code blocks are examples, not references
    return re.findall(r"`([^`\n]+)`", text)


def _paths(text: str) -> list[str]:
    found = []
    for span in _code_spans(text):
        for word in span.split():
            word = word.strip("(),;:")
            if "<" in word or "*" in word or "=" in word:
                continue  # a pattern (`juanji/_tensor/<concern>.py`), not a name
            if re.fullmatch(r"[\w./-]+\.(py|md|toml|txt)|[\w.-]+(/[\w.-]+)*/|[\w/-]+/\w+\.\w+", word):
                found.append(word)
    return sorted(set(found))


def _dotted_names(text: str) -> list[str]:
    names = set()
    for span in _code_spans(text):
        for match in re.finditer(r"\bjuanji(\.[A-Za-z_]\w*)+", span):
            if "/" not in span[max(match.start() - 1, 0):match.start()]:
                names.add(match.group(0))
    return sorted(names)


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def test_the_doc_names_paths_and_names():
    # the checks below must have something to check
    text = DOC.read_text(encoding="utf-8")
    assert len(_paths(text)) > 30 and len(_dotted_names(text)) > 5


def _exists(path: str) -> bool:
    if "/" not in path.rstrip("/"):  # a file (or folder/) named in the paragraph of its folder
        return (ROOT / path).exists() or any((ROOT / "juanji").rglob(path.rstrip("/")))
    if re.fullmatch(r"[\w/-]+/\w+\.\w+", path) and not path.endswith(".py"):  # file.name
        module, name = path.rsplit(".", 1)
        return any((base / (module + ".py")).exists() and re.search(
            rf"^\s*(def|class) {name}\b|^{name}\s*=", (base / (module + ".py")).read_text(encoding="utf-8"), re.M)
            for base in BASES)
    return any((base / path).exists() for base in BASES)


@pytest.mark.parametrize("path", _paths(DOC.read_text(encoding="utf-8")))
def test_every_path_named_in_internals_exists(path):
    assert _exists(path), f"docs/internals.md names {path}, which does not exist"


@pytest.mark.parametrize("name", _dotted_names(DOC.read_text(encoding="utf-8")))
def test_every_juanji_name_in_internals_exists(name):
    assert _resolves(name), f"docs/internals.md names {name}, which juanji does not have"


def test_the_checks_fail_on_a_wrong_path_or_name():
    text = ("See `juanji/ops/no_such_op.py` and `juanji.ops.conv.NoSuchOp`, `kernels/conv.py`, `gone.py`, "
            "`nn/functional/_args.no_such_rule`, `nn/functional/_args.shape_text`.")
    assert _paths(text) == ["gone.py", "juanji/ops/no_such_op.py", "kernels/conv.py", "nn/functional/_args.no_such_rule",
                            "nn/functional/_args.shape_text"]
    assert [_exists(p) for p in _paths(text)] == [False, False, True, False, True]
    assert _dotted_names(text) == ["juanji.ops.conv.NoSuchOp"] and not _resolves("juanji.ops.conv.NoSuchOp")
    assert _resolves("juanji.ops.conv.ConvNd") and _resolves("juanji.kernels.window.Window")
