"""``juanji train`` on several processes (``--nproc K`` and ``mpiexec -n K juanji train``): the
same run as one process with the same global batch, rank 0 alone reporting and writing, a
checkpoint that single-process ``juanji eval`` loads, bit-identical ``--resume`` of a killed
distributed run, and a failing rank ending the job with a clear line."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from .launch import ROOT, WORKERS, mpiexec, need_mpi

COMMON = ["--model", "lenet5", "--data", "sample", "--train-samples", "480", "--test-samples", "200",
          "--batch-size", "48", "--lr", "0.05", "--no-progress"]


def _env():
    return dict(os.environ, PYTHONPATH=str(ROOT), NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1",
                OPENBLAS_NUM_THREADS="1", PYTHONUNBUFFERED="1", JUANJI_DIST_TIMEOUT="60")


def _juanji(*args, timeout=300, under=None):
    command = (under or []) + [sys.executable, "-m", "juanji.cli", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=_env(), cwd=str(ROOT))


def _epochs(folder):
    with open(os.path.join(folder, "metrics.jsonl")) as f:
        return [r for r in map(json.loads, f) if r.get("kind") == "epoch"]


def _state(path):
    from juanji.checkpoint import load_checkpoint
    return {k: np.asarray(v._data) for k, v in load_checkpoint(path)["model_state"].items()}


def test_nproc_2_trains_as_one_process_with_the_same_global_batch(tmp_path):
    need_mpi()
    one = _juanji("train", *COMMON, "--epochs", "2", "--out", tmp_path / "one")
    assert one.returncode == 0, one.stderr
    two = _juanji("train", "--nproc", "2", *COMMON, "--epochs", "2", "--out", tmp_path / "two")
    assert two.returncode == 0, two.stderr
    # rank 0 alone reports: every line once
    assert two.stdout.count("test accuracy:") == 1 and two.stdout.count("epoch 2/2") == 1, two.stdout
    assert "2 processes" in two.stdout
    for a, b in zip(_epochs(tmp_path / "one"), _epochs(tmp_path / "two")):
        assert abs(a["train_loss"] - b["train_loss"]) < 1e-4 and abs(a["val_accuracy"] - b["val_accuracy"]) < 0.002
    for key, value in _state(tmp_path / "one" / "last.juanji").items():
        np.testing.assert_allclose(_state(tmp_path / "two" / "last.juanji")[key], value, rtol=1e-3, atol=1e-5)
    assert sorted(os.listdir(tmp_path / "two")) == ["best.juanji", "curves.png", "last.juanji", "metrics.jsonl"]
    # the checkpoint is a plain model: single-process juanji eval loads it
    evaluated = _juanji("eval", tmp_path / "two" / "best.juanji")
    assert evaluated.returncode == 0, evaluated.stderr
    line = next(l for l in two.stdout.splitlines() if l.startswith("test accuracy:"))
    assert line.split()[2] in evaluated.stdout, (line, evaluated.stdout)


def test_a_killed_distributed_run_resumes_bit_for_bit(tmp_path):
    need_mpi()
    args = [*COMMON, "--epochs", "2", "--checkpoint-every", "4"]
    whole = _juanji("train", *args, "--out", tmp_path / "whole", under=[mpiexec(), "-n", "2"])
    assert whole.returncode == 0, whole.stderr
    # the same run, stopped after step 12 (its checkpoint written), killed, resumed
    command = [mpiexec(), "-n", "2", sys.executable, str(WORKERS / "train_fault.py"), "stall-at-step", "12",
               "train", *args, "--out", str(tmp_path / "cut")]
    job = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
                           cwd=str(ROOT), start_new_session=True)
    deadline = time.monotonic() + 300
    seen = ""
    while "rank 0 stalled after step 12" not in seen and time.monotonic() < deadline and job.poll() is None:
        seen += job.stdout.readline()
    os.killpg(job.pid, signal.SIGKILL)
    job.communicate()
    assert "rank 0 stalled after step 12" in seen, seen
    resumed = _juanji("train", "--resume", tmp_path / "cut", "--no-progress", under=[mpiexec(), "-n", "2"])
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout and "(step 12)" in resumed.stdout, resumed.stdout
    a, b = _state(tmp_path / "whole" / "last.juanji"), _state(tmp_path / "cut" / "last.juanji")
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_a_failing_rank_ends_the_run_with_one_clear_line(tmp_path):
    need_mpi()
    started = time.monotonic()
    done = subprocess.run([mpiexec(), "-n", "2", sys.executable, str(WORKERS / "train_fault.py"), "raise-at-step",
                           "1", "3", "train", *COMMON, "--epochs", "1", "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=120, env=_env(), cwd=str(ROOT))
    assert done.returncode != 0
    assert "RuntimeError: injected failure after step 3" in done.stderr and "(on rank 1 of 2)" in done.stderr, \
        done.stderr
    assert time.monotonic() - started < 120


def test_bad_input_in_a_distributed_run_is_one_line_from_rank_0(tmp_path):
    need_mpi()
    done = _juanji("train", "--nproc", "2", *COMMON[:-3], "--batch-size", "1", "--epochs", "1",
                   "--out", tmp_path / "b", timeout=120)
    assert done.returncode != 0
    errors = [l for l in done.stderr.splitlines() if l.startswith("juanji train: error:")]
    assert len(errors) == 1 and "fewer than the 2 processes" in errors[0], done.stderr


@pytest.mark.slow
def test_a_distributed_run_resumes_on_another_number_of_processes(tmp_path):
    need_mpi()
    args = [*COMMON[:-1], "--no-progress"]
    first = _juanji("train", *args, "--epochs", "1", "--out", tmp_path / "k", under=[mpiexec(), "-n", "2"])
    assert first.returncode == 0, first.stderr
    alone = _juanji("train", "--resume", tmp_path / "k", "--epochs", "2", "--no-progress")  # one process
    assert alone.returncode == 0 and "epoch 2/2" in alone.stdout, alone.stderr
    three = _juanji("train", "--resume", tmp_path / "k", "--epochs", "3", "--no-progress",
                    under=[mpiexec(), "-n", "3"])
    assert three.returncode == 0 and three.stdout.count("epoch 3/3") == 1, three.stderr
    assert [r["epoch"] for r in _epochs(tmp_path / "k")] == [1, 2, 3]
