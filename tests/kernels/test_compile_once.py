"""Cold start: no Numba kernel hands another one an integer that Numba would type as a constant.

Numba types a call's argument by its value when it is a constant (``Literal[int](0)``) and compiles
the callee for that type; a loop counter that starts at a constant (``i = 0 ... i += 4``) is such a
constant on the first pass of type inference, so the callee is compiled for ``Literal[int](0)``
(never run) and then again for ``int64``. The direct convolution's unrolled rows took four
compilations each that way (two counters), about 40 % of a first LeNet step's compile time on a CPU
without AVX-512 (23 -> 13 s) and 10 % of ResNet-20's on the 512-bit paths. The kernels write
``int64(0)`` instead. This parses the kernels (nothing is compiled) and lists every call between
jitted functions that passes an integer constant, or a counter started from one, as an argument.
(Boolean constants are left alone: those calls choose a variant of the callee on purpose, and each
variant is compiled once.)"""

import ast
import importlib
import inspect
import pkgutil
import types

import juanji.kernels


def _dispatcher_type():
    from numba.core.registry import CPUDispatcher
    return CPUDispatcher


def _callee(namespace, func):
    """The jitted function a call's target names, or None."""
    jitted = _dispatcher_type()
    if isinstance(func, ast.Name):
        value = namespace.get(func.id)
    elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        module = namespace.get(func.value.id)
        value = getattr(module, func.attr, None) if isinstance(module, types.ModuleType) else None
    else:
        return None
    return value if isinstance(value, jitted) else None


def _scan(tree, namespace, label):
    """Every call between jitted functions of ``tree`` that passes an integer constant, or a counter
    started from one, as an argument; and how many jitted functions there were."""
    jitted = _dispatcher_type()
    found, callers = [], 0
    for function in ast.walk(tree):
        if not (isinstance(function, ast.FunctionDef) and isinstance(namespace.get(function.name), jitted)):
            continue
        callers += 1
        constants, changed = set(), set()
        for node in ast.walk(function):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and type(node.value.value) is int:
                constants.update(t.id for t in node.targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                changed.add(node.target.id)
        counters = constants & changed
        for call in ast.walk(function):
            if not isinstance(call, ast.Call) or _callee(namespace, call.func) is None:
                continue
            for position, argument in enumerate(call.args):
                if isinstance(argument, ast.Constant) and type(argument.value) is int:
                    what = f"the constant {argument.value}"
                elif isinstance(argument, ast.Name) and argument.id in counters:
                    what = f"the counter {argument.id} (starts at a constant)"
                else:
                    continue
                found.append(f"{label}:{call.lineno}: {function.name} passes {what} "
                             f"to {ast.unparse(call.func)} (argument {position})")
    return found, callers


def _constant_arguments():
    found, callers = [], 0
    for info in pkgutil.iter_modules(juanji.kernels.__path__):
        module = importlib.import_module(f"juanji.kernels.{info.name}")
        more, count = _scan(ast.parse(inspect.getsource(module)), vars(module), f"{info.name}.py")
        found += more
        callers += count
    return found, callers


def test_no_kernel_passes_an_integer_constant_to_another():
    found, callers = _constant_arguments()
    assert callers > 100  # the parse found the kernels
    assert not found, "\n".join(found)


def test_the_check_sees_a_counter_and_a_constant():
    """The check itself finds both patterns (in a small module of its own)."""
    source = '''
from numba import njit

@njit
def callee(a, i):
    return a + i

@njit
def caller(n):
    i = 0
    s = callee(n, 3)
    while i < n:
        s += callee(s, i)
        i += 1
    return s
'''
    namespace = {}
    exec(compile(source, "<probe>", "exec"), namespace)
    found, callers = _scan(ast.parse(source), namespace, "probe")
    assert callers == 2
    assert len(found) == 2 and "the constant 3" in found[0] and "the counter i" in found[1], found
    fixed = source.replace("i = 0", "i = int64(0)").replace("callee(n, 3)", "callee(n, int64(3))")
    assert _scan(ast.parse(fixed), namespace, "probe") == ([], 2)
    # and the fact the check rests on: a counter started at 0 makes Numba compile the callee twice
    namespace["caller"](3)
    kinds = sorted(str(signature[1]) for signature in namespace["callee"].signatures)
    assert "int64" in kinds and any(kind.startswith("Literal[int]") for kind in kinds), kinds
