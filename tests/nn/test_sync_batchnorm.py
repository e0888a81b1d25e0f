"""nn.SyncBatchNorm in one process (no process group: it is batch norm, as torch's on the CPU),
convert_sync_batchnorm as torch's, nn.DataParallel as torch's CPU pass-through. The
multi-process behaviour is tested under mpiexec in tests/distributed."""

import numpy as np
import pytest

import juanji
from juanji import nn
from juanji.autograd import gradcheck
from tests.helpers import FLOAT_DTYPES, compare_with_torch

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 6), (2, 3, 4, 5), (2, 3, 2, 3, 2)])
@pytest.mark.parametrize("affine, track", [(True, True), (False, True), (True, False)])
def test_sync_batchnorm_without_a_group_is_torchs(dtype, shape, affine, track):
    rng = np.random.default_rng(len(shape))
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    ours = nn.SyncBatchNorm(3, affine=affine, track_running_stats=track, dtype=getattr(juanji, dtype))
    theirs = torch.nn.SyncBatchNorm(3, affine=affine, track_running_stats=track).to(getattr(torch, dtype))
    compare_with_torch(ours, theirs, [x])
    if track:
        np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy(), rtol=1e-6)
        np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), rtol=1e-6)
        ours.eval(), theirs.eval()
        compare_with_torch(ours, theirs, [x])


def test_sync_batchnorm_gradcheck():
    bn = nn.SyncBatchNorm(2, dtype=juanji.float64)
    x = juanji.randn(4, 2, 3, dtype=juanji.float64, requires_grad=True)
    assert gradcheck(lambda t, w, b: juanji.nn.functional.batch_norm(t, None, None, w, b, training=True),
                     (x, bn.weight, bn.bias))
    assert gradcheck(lambda t: bn(t), (x,))


def test_sync_batchnorm_errors_and_repr_as_torch():
    for cls in (nn.SyncBatchNorm, torch.nn.SyncBatchNorm):
        with pytest.raises(ValueError, match=r"expected at least 2D input \(got 1D input"):
            cls(3)(juanji.ones(3) if cls is nn.SyncBatchNorm else torch.ones(3))
    with pytest.raises(ValueError, match="number of input channels should be non-zero"):
        nn.SyncBatchNorm(0)(juanji.ones(2, 0))
    assert repr(nn.SyncBatchNorm(4, momentum=None)) == repr(torch.nn.SyncBatchNorm(4, momentum=None))
    assert isinstance(nn.SyncBatchNorm(2), nn.modules.normalization._BatchNorm)
    assert list(nn.SyncBatchNorm(2).state_dict()) == list(torch.nn.SyncBatchNorm(2).state_dict())


def _net(lib):
    return lib.nn.Sequential(lib.nn.Conv2d(1, 4, 3), lib.nn.BatchNorm2d(4), lib.nn.ReLU(),
                             lib.nn.Sequential(lib.nn.Identity(), lib.nn.InstanceNorm2d(4)),
                             lib.nn.Flatten(), lib.nn.Linear(4 * 36, 8), lib.nn.BatchNorm1d(8))


def test_convert_sync_batchnorm_as_torch():
    ours, theirs = _net(juanji), _net(torch)
    ours[1].eval()
    theirs[1].eval()
    weight, running = ours[1].weight, ours[1].running_mean
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(ours)
    expected = torch.nn.SyncBatchNorm.convert_sync_batchnorm(theirs)
    assert [type(m).__name__ for m in converted.modules()] == [type(m).__name__ for m in expected.modules()]
    assert list(converted.state_dict()) == list(expected.state_dict())
    assert converted[1].weight is weight and converted[1].running_mean is running  # shared, as torch
    assert converted[1].training is False and converted[6].training is True
    bn = nn.BatchNorm2d(3)
    assert type(nn.SyncBatchNorm.convert_sync_batchnorm(bn)) is nn.SyncBatchNorm
    sync = nn.SyncBatchNorm(3)
    assert nn.SyncBatchNorm.convert_sync_batchnorm(sync) is sync


def test_data_parallel_is_torchs_cpu_pass_through():
    model = nn.Linear(3, 2)
    wrapped = nn.DataParallel(model)
    twrapped = torch.nn.DataParallel(torch.nn.Linear(3, 2))
    assert wrapped.module is model and wrapped.device_ids == twrapped.device_ids == []
    assert list(wrapped.state_dict()) == list(twrapped.state_dict()) == ["module.weight", "module.bias"]
    x = juanji.randn(4, 3)
    np.testing.assert_array_equal(wrapped(x).detach().numpy(), model(x).detach().numpy())
    assert nn.parallel.DataParallel is nn.DataParallel
    np.testing.assert_array_equal(nn.parallel.data_parallel(model, x).detach().numpy(), model(x).detach().numpy())


def test_ddp_without_a_process_group_says_so():
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))
