"""SyncBatchNorm on K ranks against torch's BatchNorm over the whole batch (torch is the oracle).

Rank r holds rows [lo, hi) of a global batch. The loss is sum(y * G) for a fixed random G, so
the input gradient of rank r's slice must equal torch's for those rows, and the sum over the
ranks of the local weight/bias gradients must equal torch's. Shapes 2-d to 5-d, float32 and
float64, with and without affine, momentum None, track_running_stats False, uneven slices.
"""

import datetime
import itertools

import numpy as np
import torch

import juanji
import juanji.distributed as dist
from juanji import nn

dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=60))
R, K = dist.get_rank(), dist.get_world_size()
torch.set_num_threads(1)

SHAPES = {1: (7, 3), 2: (7, 3, 5), 3: (7, 2, 4, 3), 4: (7, 2, 3, 2, 2)}
count = 0
for dims, dtype, affine, momentum, track in itertools.product((1, 2, 3, 4), ("float32", "float64"), (True, False),
                                                             (0.1, None), (True, False)):
    shape = SHAPES[dims]
    rng = np.random.default_rng(dims)
    x = rng.standard_normal(shape).astype(dtype) * 3 + 1
    g = rng.standard_normal(shape).astype(dtype)
    n = shape[0]
    bounds = [0, 1, 4, n] if K == 3 else [0, 3, n]  # uneven slices
    lo, hi = bounds[R], bounds[R + 1]
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)

    cls = {1: torch.nn.BatchNorm1d, 2: torch.nn.BatchNorm1d, 3: torch.nn.BatchNorm2d, 4: torch.nn.BatchNorm3d}[dims]
    theirs = cls(shape[1], affine=affine, momentum=momentum, track_running_stats=track).to(getattr(torch, dtype))
    ours = nn.SyncBatchNorm(shape[1], affine=affine, momentum=momentum, track_running_stats=track,
                            dtype=getattr(juanji, dtype))
    if affine:
        w, b = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(w)), theirs.bias.copy_(torch.tensor(b))
        with juanji.no_grad():
            ours.weight.copy_(juanji.tensor(w)), ours.bias.copy_(juanji.tensor(b))
    for step in range(2):  # two steps: running statistics accumulate
        xt = torch.tensor(x + step, requires_grad=True)
        yt = theirs(xt)
        (yt * torch.tensor(g)).sum().backward()
        xj = juanji.tensor(x[lo:hi] + step, requires_grad=True)
        yj = ours(xj)
        (yj * juanji.tensor(g[lo:hi])).sum().backward()
        where = f"{dims + 1}-d {dtype} affine={affine} momentum={momentum} track={track} step={step}"
        np.testing.assert_allclose(yj.detach().numpy(), yt.detach().numpy()[lo:hi], err_msg=f"y {where}", **tol)
        np.testing.assert_allclose(xj.grad.numpy(), xt.grad.numpy()[lo:hi], err_msg=f"dx {where}", **tol)
        if affine:
            for mine, full, name in ((ours.weight.grad, theirs.weight.grad, "dw"), (ours.bias.grad, theirs.bias.grad, "db")):
                total = mine.clone()
                dist.all_reduce(total)
                np.testing.assert_allclose(total.numpy(), full.numpy(), err_msg=f"{name} {where}", **tol)
                mine.zero_()
            theirs.weight.grad = theirs.bias.grad = None
        if track:
            np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy(), **tol)
            np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(), **tol)
            assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked)
        count += 1
    if track:  # eval mode: the running statistics, no communication
        ours.eval(), theirs.eval()
        np.testing.assert_allclose(ours(juanji.tensor(x[lo:hi])).detach().numpy(),
                                   theirs(torch.tensor(x)).detach().numpy()[lo:hi], **tol)
assert type(yj.grad_fn).__name__ == "SyncBatchNormBackward"
dist.barrier()
if R == 0:
    print(f"ok sync_batchnorm {count} cases", flush=True)
