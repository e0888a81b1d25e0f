"""DistributedDataParallel (and SyncBatchNorm) under real ``mpiexec -n K`` jobs: K ranks with
batch B/K each train exactly as one process with batch B (workers/ddp_equivalence.py)."""

import pytest

from .launch import check_ok, run_mpi

CASES = [
    # (ranks, model, dtype, steps, image side, options)
    (2, "lenet5", "float64", 20, 28, ()),
    (3, "lenet5", "float32", 20, 28, ("no_sync",)),
    (2, "lenet5", "float64", 20, 28, ("no_sync",)),
    (2, "resnet20", "float64", 20, 8, ()),
    (3, "resnet20", "float64", 20, 8, ("no_sync",)),
    (2, "resnet20", "float32", 20, 8, ("per_step",)),
]

SLOW_CASES = [
    (2, "lenet5", "float32", 20, 28, ()),
    (3, "resnet20", "float64", 20, 32, ()),
    (2, "resnet20", "float64", 20, 32, ("no_sync",)),
    (3, "resnet20", "float32", 20, 32, ("per_step", "no_sync")),
]


def _run(k, model, dtype, steps, side, options):
    args = [model, dtype, steps, side, *options]
    out = check_ok(run_mpi("ddp_equivalence.py", k, *args, timeout=600))
    assert f"ok {' '.join(map(str, args))}" in out, out


@pytest.mark.parametrize("k, model, dtype, steps, side, options", CASES)
def test_ddp_on_k_ranks_equals_one_process_with_the_whole_batch(k, model, dtype, steps, side, options):
    _run(k, model, dtype, steps, side, options)


@pytest.mark.slow
@pytest.mark.parametrize("k, model, dtype, steps, side, options", SLOW_CASES)
def test_ddp_equals_one_process_full_size(k, model, dtype, steps, side, options):
    _run(k, model, dtype, steps, side, options)


@pytest.mark.parametrize("k", [2, 3])
def test_ddp_buckets_unused_parameters_buffers_groups_and_errors(k):
    out = check_ok(run_mpi("ddp_features.py", k, timeout=300))
    for name in ["buckets", "find_unused_parameters", "unused_parameter_error", "broadcast_buffers", "attributes",
                 "process_group", "model_check", "done"]:
        assert f"ok {name}\n" in out, out


def test_ddp_all_reduces_each_bucket_while_backward_still_runs():
    # one bucket per layer of a 4-layer chain: the buckets of layers 4, 3 and 2 have started their
    # all-reduce before the backward of layer 1 begins (see workers/ddp_overlap.py)
    out = check_ok(run_mpi("ddp_overlap.py", 2, timeout=120))
    assert "ok overlap: 3 of 4 buckets started before the first layer's backward" in out, out


def test_the_overlap_check_fails_when_buckets_are_reduced_after_backward():
    out = check_ok(run_mpi("ddp_overlap.py", 2, "after-backward", timeout=120))
    assert "late overlap: 0 of 4 buckets" in out, out


@pytest.mark.parametrize("k", [2, 3])
def test_sync_batchnorm_on_k_ranks_is_torchs_batchnorm_over_the_whole_batch(k):
    pytest.importorskip("torch")
    out = check_ok(run_mpi("sync_batchnorm.py", k, timeout=300))
    assert "ok sync_batchnorm 128 cases" in out, out
