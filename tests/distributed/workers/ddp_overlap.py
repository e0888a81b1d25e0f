"""DistributedDataParallel all-reduces a bucket while the backward pass still runs (torch's
overlap of communication and computation), on K ranks.

A chain of four Linear layers with one bucket per layer (bucket_cap_mb tiny). During backward we
log, in order: each parameter marked ready (its gradient accumulated into ``.grad``, the
post-accumulate-grad hook), each bucket's all-reduce started, and the moment the gradient of the
FIRST layer's output arrives (a tensor hook: the first layer's own backward has not run yet).
If the buckets were only reduced once backward has ended, no bucket would have started by then.

Argument ``after-backward`` (a check of this check): the reducer's hooks are taken off and every
parameter is marked ready only after ``backward()`` returns; the worker must then report
``late`` instead of ``ok``.
"""

import datetime
import sys

import numpy as np

import juanji as torch
import juanji.distributed as dist
from juanji import nn
from juanji.nn.parallel import DistributedDataParallel as DDP

dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=60))
R, K = dist.get_rank(), dist.get_world_size()
AFTER_BACKWARD = sys.argv[1:] == ["after-backward"]
events = []


class Chain(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(6, 16), nn.Linear(16, 16), nn.Linear(16, 16), nn.Linear(16, 3)])

    def forward(self, x):
        h = self.layers[0](x)
        h.register_hook(lambda grad: events.append(("first layer's output gradient",)))
        for layer in self.layers[1:]:
            h = layer(h.tanh())
        return h


torch.manual_seed(0)  # before building the model: the same weights on every rank
model = Chain().double()
ddp = DDP(model, bucket_cap_mb=3 * 16 * 8 / 2**20)  # one bucket per layer: each weight fills one
reducer = ddp.reducer
buckets = len(reducer.buckets)
assert buckets == 4, [b.members for b in reducer.buckets]

mark_ready, launch = reducer.mark_ready, reducer._launch_full_buckets


def logged_mark_ready(i, used=True):
    events.append(("ready", i))
    mark_ready(i, used)


def logged_launch():
    before = reducer.next_bucket
    launch()
    events.extend(("all-reduce started", k) for k in range(before, reducer.next_bucket))


reducer.mark_ready, reducer._launch_full_buckets = logged_mark_ready, logged_launch
if AFTER_BACKWARD:
    for handle in ddp._hook_handles:
        handle.remove()

rng = np.random.default_rng(R)
x, y = torch.tensor(rng.standard_normal((5, 6))), torch.tensor(rng.standard_normal((5, 3)))
((ddp(x) - y) ** 2).mean().backward()
if AFTER_BACKWARD:
    for i in range(len(reducer.params)):
        reducer.mark_ready(i)
events = list(events)  # this iteration's (the reference models below run the hook too)

names = [e[0] for e in events]
first_layer = names.index("first layer's output gradient")
started_before = [e[1] for e in events[:first_layer] if e[0] == "all-reduce started"]
assert names.count("all-reduce started") == buckets, events
assert names.count("ready") == len(reducer.params), events

# the result is still the average over the ranks
want = [np.zeros(p.shape) for p in model.parameters()]
for r in range(K):
    torch.manual_seed(0)
    plain = Chain().double()
    rr = np.random.default_rng(r)
    xr, yr = torch.tensor(rr.standard_normal((5, 6))), torch.tensor(rr.standard_normal((5, 3)))
    ((plain(xr) - yr) ** 2).mean().backward()
    for w, p in zip(want, plain.parameters()):
        w += p.grad.numpy() / K
for w, p in zip(want, model.parameters()):
    np.testing.assert_allclose(p.grad.numpy(), w, rtol=1e-12, atol=1e-14)

dist.barrier()
if R == 0:
    verdict = "ok" if started_before else "late"
    print(f"{verdict} overlap: {len(started_before)} of {buckets} buckets started before the first layer's backward; "
          "events: " + ", ".join(" ".join(map(str, e)) for e in events), flush=True)
dist.destroy_process_group()
