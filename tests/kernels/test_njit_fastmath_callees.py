"""Reproducible bits: no Numba function compiled with ``fastmath`` calls an njit function that sets no
``fastmath`` of its own.

Numba compiles such a callee under the flags of whichever caller needs it first and then shares that
machine code, by signature, with every other caller (numba's ``flags.inherit_if_not_set("fastmath")``):
an exact caller of a helper that a fastmath caller reached first gets contracted or reassociated
arithmetic, so its bits depend on the order of first calls and on the Numba cache's history. Seen in
batch norm (ca05170): the exact per-channel constants lost their bit-for-bit match with the array
expressions in one test process of two. This parses ``juanji/kernels`` (nothing is compiled) and lists
every such call."""

import ast
import functools
import pathlib

KERNELS = pathlib.Path(__file__).resolve().parents[2] / "juanji" / "kernels"
JIT_DECORATORS = {"njit", "jit", "vectorize", "guvectorize"}


def _jit_options(func: ast.FunctionDef):
    """``(is_jitted, sets_fastmath)`` from the decorators of ``func``."""
    for dec in func.decorator_list:
        target = dec.func if isinstance(dec, ast.Call) else dec
        name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", None)
        if name in JIT_DECORATORS:
            keywords = dec.keywords if isinstance(dec, ast.Call) else []
            fastmath = next((k.value for k in keywords if k.arg == "fastmath"), None)
            sets = fastmath is not None and not (isinstance(fastmath, ast.Constant) and fastmath.value is False)
            return True, sets, fastmath is not None
    return False, False, False


@functools.cache
def _tree(module: str) -> ast.Module:
    return ast.parse((KERNELS / f"{module}.py").read_text(), f"{module}.py")


@functools.cache
def _jitted_functions():
    """``{(module, name): (node, sets_fastmath, has_fastmath_option)}`` of every jitted function, nested
    ones (built by factories) included."""
    found = {}
    for path in sorted(KERNELS.glob("*.py")):
        for node in ast.walk(_tree(path.stem)):
            if isinstance(node, ast.FunctionDef):
                jitted, sets, has_option = _jit_options(node)
                if jitted:
                    found[(path.stem, node.name)] = (node, sets, has_option)
    return found


@functools.cache
def _module_aliases(module: str) -> dict:
    """Names under which ``module`` imports sibling kernel modules (``from . import _simd as S``)."""
    aliases = {}
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            for alias in node.names:
                if node.module is None:
                    aliases[alias.asname or alias.name] = ("module", alias.name)
                else:
                    aliases[alias.asname or alias.name] = ("name", (node.module, alias.name))
    return aliases


@functools.cache
def _calls():
    """``[(caller, callee, caller sets fastmath)]`` between jitted kernel functions (by name)."""
    functions = _jitted_functions()
    assert len(functions) > 100  # the parse found the kernels
    calls = []
    for (module, name), (node, sets_fastmath, _) in functions.items():
        aliases = _module_aliases(module)
        for call in ast.walk(node):
            if not isinstance(call, ast.Call):
                continue
            target = None
            if isinstance(call.func, ast.Name):
                kind, what = aliases.get(call.func.id, (None, None))
                target = what if kind == "name" else (module, call.func.id)
            elif isinstance(call.func, ast.Attribute) and isinstance(call.func.value, ast.Name):
                kind, what = aliases.get(call.func.value.id, (None, None))
                if kind == "module":
                    target = (what, call.func.attr)
            if target in functions and target != (module, name):
                calls.append(((module, name), target, sets_fastmath))
    return functions, calls


def test_no_fastmath_function_calls_a_helper_without_its_own_fastmath():
    functions, calls = _calls()
    offenders = [f"{a[0]}.{a[1]} (fastmath) calls {b[0]}.{b[1]} (no fastmath of its own)"
                 for a, b, fast in calls if fast and not functions[b][2]]
    assert not offenders, "\n".join(offenders)


def _reassociates(node: ast.FunctionDef) -> bool:
    """Whether a jitted function's ``fastmath`` lets LLVM reorder sums (``True``, or a set with ``reassoc``)."""
    for dec in node.decorator_list:
        for keyword in dec.keywords if isinstance(dec, ast.Call) else []:
            if keyword.arg == "fastmath":
                value = keyword.value
                if isinstance(value, ast.Constant):
                    return value.value is True
                return any(isinstance(e, ast.Constant) and e.value in ("reassoc", "fast") for e in ast.walk(value))
    return False


def test_a_fastmath_helper_has_one_caller():
    """A reassociated helper is vectorised as the function it is inlined into allows, and inlined only when
    compiled in the same process as its caller: with two callers its bits would depend on which compiled it
    (seen in batch norm's fused sweeps, whose summing loops are therefore written out). A helper that only
    contracts (``fastmath={"contract"}``: a multiply and an add fused, flagged on each instruction) computes
    the same bits wherever it is inlined: ``_conv_taps``' row loops have one caller per leftover row count."""
    functions, calls = _calls()
    callers = {}
    for a, b, _ in calls:
        if functions[b][1] and _reassociates(functions[b][0]):
            callers.setdefault(b, set()).add(a)
    shared = {f"{b[0]}.{b[1]}": sorted(f"{m}.{n}" for m, n in a) for b, a in callers.items() if len(a) > 1}
    assert not shared, shared
    assert len(callers) >= 10  # (the reassociating helpers were found: the direct loops' dot products among them)
