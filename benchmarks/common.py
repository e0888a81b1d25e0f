"""A small shared harness for juanji-vs-PyTorch benchmarks.

- :func:`interleaved` times a juanji callable and a torch callable alternately in the same
  process (juanji, torch, juanji, torch, ...), so both see the same machine state (other
  processes, CPU frequency, caches) and a burst of outside load hits both; it reports medians.
- :func:`peak_memory` runs a callable in a fresh child process and reports how far its
  resident memory rose above where it started (Linux ``VmHWM`` after a reset), which counts
  NumPy's and torch's allocations alike; for NumPy code :func:`traced_peak` gives the exact
  peak of Python-visible allocations (tracemalloc).
- :func:`write_report` writes ``benchmarks/results/<name>.json`` and ``<name>.md``.

The usual shape of a benchmark::

    rows = []
    for case in cases:
        j, t = interleaved(juanji_fn, torch_fn, repeats=10)
        rows.append({"case": case, "juanji_ms": j * 1e3, "torch_ms": t * 1e3, "ratio": j / t})
    write_report("conv", rows, columns=[...], notes=[...])
"""

from __future__ import annotations

import ctypes
import json
import math
import multiprocessing
import os
import pathlib
import platform
import statistics
import time
import tracemalloc

__all__ = ["interleaved", "geometric_mean", "peak_memory", "traced_peak", "environment", "write_report",
           "markdown_table", "RESULTS"]

RESULTS = pathlib.Path(__file__).resolve().parent / "results"


def interleaved(juanji_call, torch_call, repeats: int = 10, warmup: int = 2,
                pause: float = 0.0) -> tuple[float, float]:
    """Median seconds of each callable, alternating juanji and torch every repetition.

    ``pause`` seconds of sleep before each timed call let the other library's worker threads
    go idle first (OpenMP workers busy-wait for a while after a parallel region, which would
    otherwise steal cores from whichever call comes next).
    """
    for _ in range(warmup):
        juanji_call()
        torch_call()
    j_times, t_times = [], []
    for _ in range(repeats):
        time.sleep(pause)
        start = time.perf_counter()
        juanji_call()
        j_times.append(time.perf_counter() - start)
        time.sleep(pause)
        start = time.perf_counter()
        torch_call()
        t_times.append(time.perf_counter() - start)
    return statistics.median(j_times), statistics.median(t_times)


def geometric_mean(values) -> float:
    values = list(values)
    return math.exp(sum(math.log(v) for v in values) / len(values))


# -- memory ------------------------------------------------------------------------------------

def _status_kib(key: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def _release_free_memory() -> None:
    """Give freed heap memory back to the OS so that reusing it shows up as a rise in RSS."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:  # not glibc
        pass


def _measure_in_child(make_call, queue) -> None:
    call = make_call()
    call()  # warm up: compile, first-touch caches, lazily created thread pools
    _release_free_memory()
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # reset the peak-RSS counter (VmHWM) to the current RSS
    before = _status_kib("VmRSS")
    call()
    queue.put((_status_kib("VmHWM") - before) * 1024)


def peak_memory(make_call) -> int | None:
    """Bytes by which the resident memory rises while ``make_call()()`` runs (second run).

    ``make_call`` must be a module-level function (it is sent to a fresh child process) that
    builds its inputs and returns the callable to measure. None where Linux's /proc is missing.
    """
    if not os.path.exists("/proc/self/clear_refs"):
        return None
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_measure_in_child, args=(make_call, queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def traced_peak(call) -> int:
    """Peak bytes of Python-visible allocations (NumPy reports its arrays) during ``call()``."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        call()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


# -- reporting ---------------------------------------------------------------------------------

def environment() -> dict:
    """What the numbers depend on: machine, library versions, thread counts."""
    import numba
    import numpy
    info = {"machine": platform.machine(), "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "python": platform.python_version(), "numpy": numpy.__version__,
            "numba": numba.__version__, "numba_threads": numba.config.NUMBA_NUM_THREADS}
    try:
        info["numba_threading_layer"] = numba.threading_layer()
    except ValueError:  # no parallel Numba code has run yet
        info["numba_threading_layer"] = numba.config.THREADING_LAYER
    for variable in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        if variable in os.environ:
            info[variable] = os.environ[variable]
    try:
        import torch
        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    try:
        info["load_average"] = os.getloadavg()
    except OSError:
        pass
    return info


def markdown_table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    """``columns``: (key, header, format spec). Missing values print as '-'."""
    lines = ["| " + " | ".join(header for _, header, _ in columns) + " |",
             "|" + "|".join("---" for _ in columns) + "|"]
    for row in rows:
        cells = []
        for key, _, spec in columns:
            value = row.get(key)
            cells.append("-" if value is None else format(value, spec))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(name: str, rows: list[dict], columns: list[tuple[str, str, str]], summary: dict | None = None,
                 notes: list[str] | None = None, title: str | None = None) -> str:
    """Write ``results/<name>.json`` and ``results/<name>.md``; return the Markdown."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    env = environment()
    payload = {"benchmark": name, "environment": env, "rows": rows, "summary": summary or {}}
    (RESULTS / f"{name}.json").write_text(json.dumps(payload, indent=2, default=str))
    parts = [f"# {title or name}", "", markdown_table(rows, columns), ""]
    for key, value in (summary or {}).items():
        parts.append(f"- {key}: {value:.3g}" if isinstance(value, float) else f"- {key}: {value}")
    if notes:
        parts += [""] + [f"- {note}" for note in notes]
    parts += ["", "Environment: " + ", ".join(f"{k}={v}" for k, v in env.items())]
    text = "\n".join(parts) + "\n"
    (RESULTS / f"{name}.md").write_text(text)
    return text
