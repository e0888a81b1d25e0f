"""Run a worker script under ``mpiexec -n K`` with a hard timeout (the whole process group is
killed past it, so a hung job fails the test instead of hanging the suite)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKERS = Path(__file__).resolve().parent / "workers"


def mpiexec() -> str | None:
    """mpiexec of the MPI installed beside this Python (the mpich wheel puts it in the venv's bin)."""
    here = Path(sys.executable).parent / "mpiexec"
    return str(here) if here.exists() else shutil.which("mpiexec")


def need_mpi():
    pytest.importorskip("mpi4py", reason="the juanji[distributed] extra (mpi4py + mpich) is not installed")
    if mpiexec() is None:
        pytest.skip("no mpiexec found (install the juanji[distributed] extra)")


def run_mpi(worker: str, n: int, *args, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    """``mpiexec -n n python workers/<worker> args...``; returns the finished process (stdout and
    stderr as text). Fails the test if the job outlives ``timeout`` seconds."""
    need_mpi()
    environment = dict(os.environ)
    environment["PYTHONPATH"] = str(ROOT) + os.pathsep + environment.get("PYTHONPATH", "")
    # one thread per rank: K ranks share the machine's cores
    environment.update({"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                        "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"})
    environment.update(env or {})
    command = [mpiexec(), "-n", str(n), sys.executable, str(WORKERS / worker), *map(str, args)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
                               cwd=str(ROOT), start_new_session=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"mpiexec -n {n} {worker} did not finish within {timeout} s\n--- stdout\n{out}\n--- stderr\n{err}")
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def check_ok(result: subprocess.CompletedProcess) -> str:
    """Assert the job succeeded; returns its stdout."""
    assert result.returncode == 0, f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    return result.stdout
