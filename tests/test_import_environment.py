"""``import juanji`` and running its kernels leave the process alone: no environment variable
set or changed (an ``OMP_WAIT_POLICY`` set on import once slowed torch 2x in the same process),
and no OpenMP parallel region started (juanji's threads are its own, see kernels/_threads.py).

Each check runs in a fresh interpreter, so nothing imported by the test session interferes.
"""

import json
import os
import subprocess
import sys

_TRAINING_STEP = """
import json, os, sys
before = dict(os.environ)
import juanji
from juanji import nn
import juanji.nn.functional as F
after_import = dict(os.environ)
juanji.manual_seed(0)
model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Conv2d(6, 8, 3, groups=2), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(8 * 6 * 6, 10))
x = juanji.randn(64, 1, 28, 28)
x = F.interpolate(x, scale_factor=1.0, mode="bilinear")
loss = F.cross_entropy(F.gelu(model(x)), juanji.randint(0, 10, (64,)))
loss.backward()
F.unfold(x, 3).sum()
after_step = dict(os.environ)
changed = lambda env: sorted(k for k in set(before) | set(env) if before.get(k) != env.get(k))
print(json.dumps({"import": changed(after_import), "step": changed(after_step)}))
"""


def _run(code: str, env=None) -> dict:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_and_a_training_step_change_no_environment_variable():
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "KMP_DUPLICATE_LIB_OK")}
    changed = _run(_TRAINING_STEP, env)
    assert changed == {"import": [], "step": []}


def test_no_openmp_wait_policy_is_needed_because_no_kernel_starts_openmp():
    """Numba's parallel=True loops would start OpenMP threads (whose waiting the wait policy
    governs); juanji's kernels are serial Numba loops run on juanji's own threads."""
    import importlib
    import pkgutil

    import juanji.kernels
    for info in pkgutil.iter_modules(juanji.kernels.__path__):
        module = importlib.import_module(f"juanji.kernels.{info.name}")
        for value in vars(module).values():
            options = getattr(value, "targetoptions", None)
            if options is not None:
                assert not options.get("parallel"), f"{info.name}.{value.__name__} is parallel=True"


def test_numba_loops_live_in_kernels_only():
    """Every compiled loop is a kernel (juanji/kernels/); ops and the layers above only call
    them. (backend.py reads and sets Numba's thread count for set_num_threads.)"""
    import ast
    import pathlib

    import juanji
    package = pathlib.Path(juanji.__file__).parent
    offenders = []
    for path in package.rglob("*.py"):
        relative = path.relative_to(package).as_posix()
        if relative.startswith("kernels/") or relative == "backend.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            if any(name == "numba" or name.startswith("numba.") for name in names):
                offenders.append(relative)
    assert offenders == []
