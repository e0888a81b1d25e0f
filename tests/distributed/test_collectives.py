"""juanji.distributed under real ``mpiexec -n K`` jobs: every collective against NumPy (the
checks run in workers/collectives.py), and what happens when a rank fails."""

import subprocess
import sys
import time

import pytest

from .launch import check_ok, run_mpi


@pytest.mark.parametrize("k", [2, 3])
def test_every_collective_matches_numpy(k):
    out = check_ok(run_mpi("collectives.py", k, timeout=180))
    for name in ["all_reduce", "broadcast", "reduce", "all_gather", "reduce_scatter", "gather_scatter",
                 "all_to_all_single", "send_recv", "objects", "new_group", "errors", "done"]:
        assert f"ok {name}\n" in out, out


def test_a_rank_that_raises_ends_the_job_naming_rank_and_error():
    start = time.monotonic()
    result = run_mpi("failure.py", 2, "raise", 60, timeout=60)
    assert result.returncode != 0
    assert "rank 1 of 2 failed with ZeroDivisionError: rank one divided by zero" in result.stderr, result.stderr
    assert "unreachable" not in result.stdout
    assert time.monotonic() - start < 60


def test_a_rank_that_leaves_makes_the_others_time_out_instead_of_hanging():
    result = run_mpi("failure.py", 3, "exit", 3, timeout=90)
    assert result.returncode != 0
    assert "all_reduce on rank" in result.stderr and "did not complete within 3 s" in result.stderr, result.stderr
    assert "unreachable" not in result.stdout


def _python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_importing_juanji_does_not_start_mpi():
    code = ("import sys, juanji, juanji.nn, juanji.distributed, juanji.utils.data\n"
            "assert 'mpi4py' not in sys.modules and 'mpi4py.MPI' not in sys.modules\n"
            "import juanji.distributed as dist\n"
            "assert dist.is_available() and not dist.is_initialized()\n")
    result = _python(code)
    assert result.returncode == 0, result.stderr


def test_init_without_mpi4py_names_the_extra():
    code = ("import sys; sys.modules['mpi4py'] = None\n"
            "import juanji.distributed as dist\n"
            "try:\n    dist.init_process_group('mpi')\n"
            "except RuntimeError as e:\n    print(e)\n")
    result = _python(code)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and "pip install 'juanji[distributed]'" in lines[0], result.stdout


def test_calls_before_init_say_so():
    code = ("import juanji.distributed as dist, juanji as torch\n"
            "for f in (dist.get_rank, lambda: dist.all_reduce(torch.ones(1))):\n"
            "    try:\n        f()\n    except ValueError as e:\n        print(e)\n")
    result = _python(code)
    assert result.stdout.count("has not been initialized") == 2, result.stdout + result.stderr


def test_backends_other_than_mpi_and_gloo_are_refused():
    code = ("import juanji.distributed as dist\n"
            "try:\n    dist.init_process_group('nccl')\n"
            "except RuntimeError as e:\n    print(e)\n")
    assert "expected backend 'mpi'" in _python(code).stdout


def test_a_torchrun_style_script_runs_under_the_launcher():
    import os

    from .launch import ROOT, WORKERS, need_mpi
    need_mpi()
    env = dict(os.environ, PYTHONPATH=str(ROOT), NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-m", "juanji.distributed.run", "--nproc-per-node", "2",
                             str(WORKERS / "torch_ddp_script.py")], capture_output=True, text=True, timeout=120,
                            env=env, cwd=str(ROOT))
    assert result.returncode == 0, result.stderr
    assert "ok torch-style script on 2 ranks, local rank 0" in result.stdout, result.stdout


def test_launcher_env_maps_mpi_launchers_to_torchs_variables():
    from juanji.distributed.run import launcher_env
    assert launcher_env({}) is None
    assert launcher_env({"PMI_RANK": "1", "PMI_SIZE": "4", "MPI_LOCALRANKID": "1", "MPI_LOCALNRANKS": "2"}) == \
        {"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2"}
    assert launcher_env({"OMPI_COMM_WORLD_RANK": "3", "OMPI_COMM_WORLD_SIZE": "8",
                         "OMPI_COMM_WORLD_LOCAL_RANK": "1", "OMPI_COMM_WORLD_LOCAL_SIZE": "2"})["LOCAL_RANK"] == "1"
    assert launcher_env({"SLURM_PROCID": "5", "SLURM_NTASKS": "6", "SLURM_LOCALID": "2",
                         "SLURM_NTASKS_PER_NODE": "3(x2)"})["LOCAL_WORLD_SIZE"] == "3"
