"""DistributedDataParallel's options on K ranks: buckets, find_unused_parameters, the error for
a parameter that got no gradient, broadcast_buffers, sub-groups, the torch attributes."""

import datetime

import numpy as np

import juanji as torch
import juanji.distributed as dist
from juanji import nn
from juanji.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=60))
R, K = dist.get_rank(), dist.get_world_size()


def ok(name):
    dist.barrier()
    if R == 0:
        print("ok", name, flush=True)


def local_data(rank, n=4, d=6):
    rng = np.random.default_rng(rank)
    return torch.tensor(rng.standard_normal((n, d))), torch.tensor(rng.standard_normal((n, 3)))


class Branches(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(6, 3).double()
        self.b = nn.Linear(6, 3).double()
        self.never = nn.Linear(6, 3).double()

    def forward(self, x, use_b):
        return self.a(x) + self.b(x) if use_b else self.a(x)


# ---- bucket size does not change the result; many small buckets start as gradients arrive
def grads_with(cap):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 40), nn.Tanh(), nn.Linear(40, 40), nn.Tanh(), nn.Linear(40, 3)).double()
    ddp = DDP(model, bucket_cap_mb=cap)
    x, y = local_data(R)
    ((ddp(x) - y) ** 2).mean().backward()
    return ddp, [p.grad.numpy().copy() for p in model.parameters()]


big, g_big = grads_with(25)
small, g_small = grads_with(0.0005)  # ~500 bytes: (b3 w3) (b2 w2) (b1 w1)
assert len(big.reducer.buckets) == 1 and len(small.reducer.buckets) == 3, len(small.reducer.buckets)
for a, b in zip(g_big, g_small):
    np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
# the average of the ranks' local gradients, computed here from every rank's data
torch.manual_seed(0)
plain = nn.Sequential(nn.Linear(6, 40), nn.Tanh(), nn.Linear(40, 40), nn.Tanh(), nn.Linear(40, 3)).double()
want = [np.zeros_like(g) for g in g_big]
for r in range(K):
    plain.zero_grad()
    x, y = local_data(r)
    ((plain(x) - y) ** 2).mean().backward()
    for w, p in zip(want, plain.parameters()):
        w += p.grad.numpy() / K
for a, b in zip(g_big, want):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
ok("buckets")

# ---- find_unused_parameters: rank 0 does not use branch b; nobody uses `never`
torch.manual_seed(1)
model = Branches()
ddp = DDP(model, find_unused_parameters=True)
x, y = local_data(R)
((ddp(x, use_b=R != 0) - y) ** 2).sum().backward()
assert model.never.weight.grad is None and model.never.bias.grad is None  # unused everywhere: untouched
want_b = np.zeros((3, 6))
for r in range(1, K):
    xr, yr = local_data(r)
    err = (model.a(xr) + model.b(xr) - yr).detach().numpy()
    want_b += 2 * err.T @ xr.numpy() / K
np.testing.assert_allclose(model.b.weight.grad.numpy(), want_b, rtol=1e-12)  # rank 0 counted as zero
ddp.zero_grad()
((ddp(x, use_b=True) - y) ** 2).sum().backward()  # next iteration: every branch used
assert model.b.weight.grad is not None
ok("find_unused_parameters")

# ---- without find_unused_parameters an unused parameter is reported at the next forward
torch.manual_seed(1)
model = Branches()
ddp = DDP(model)
((ddp(x, use_b=False) - y) ** 2).sum().backward()
try:
    ddp(x, use_b=False)
except RuntimeError as e:
    assert "Expected to have finished reduction in the prior iteration" in str(e), e
    assert "find_unused_parameters=True" in str(e)
else:
    raise AssertionError("expected the unused-parameter error")
ok("unused_parameter_error")

# ---- broadcast at construction and broadcast_buffers at every forward
torch.manual_seed(10 + R)  # different on every rank
model = nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4)).double()
ddp = DDP(model)
state = [None] * K
dist.all_gather_object(state, {k: v.numpy().copy() for k, v in ddp.state_dict().items()})
for other in state:
    for key, value in other.items():
        np.testing.assert_array_equal(value, state[0][key], err_msg=key)
assert list(ddp.state_dict()) == ["module." + k for k in model.state_dict()]
ddp(local_data(R)[0])  # each rank's BatchNorm updates its running stats from its own data
ddp.eval()
with torch.no_grad():
    ddp(local_data(R)[0])  # the forward starts by copying rank 0's buffers
running = [None] * K
dist.all_gather_object(running, model[1].running_mean.numpy().copy())
assert all(np.array_equal(r, running[0]) for r in running)
ok("broadcast_buffers")

# ---- the torch attributes; module round trip through state_dict
assert ddp.module is model and ddp.find_unused_parameters is False and ddp.broadcast_buffers is True
assert ddp.require_backward_grad_sync is True
with ddp.no_sync():
    assert ddp.require_backward_grad_sync is False
assert ddp.require_backward_grad_sync is True
fresh = DDP(nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4)).double())
fresh.load_state_dict(ddp.state_dict())
ok("attributes")

# ---- DDP over a sub-group: ranks 0 and K-1 average between themselves only
members = sorted({0, K - 1})
g = dist.new_group(members)
if R in members:
    torch.manual_seed(3)
    lin = nn.Linear(6, 3).double()
    sub = DDP(lin, process_group=g)
    xr, yr = local_data(R)
    ((sub(xr) - yr) ** 2).sum().backward()
    want = np.zeros((3, 6))
    for r in members:
        xm, ym = local_data(r)
        want += 2 * (lin(xm) - ym).detach().numpy().T @ xm.numpy() / len(members)
    np.testing.assert_allclose(lin.weight.grad.numpy(), want, rtol=1e-12)
ok("process_group")

# ---- a model that differs between ranks is refused with the names
try:
    DDP(nn.Linear(6, 3 + (R == K - 1)))
except RuntimeError as e:
    assert "the model differs between ranks" in str(e), e
else:
    raise AssertionError("expected the differing-model error")
ok("model_check")

if R == 0:
    print("ok done", flush=True)
