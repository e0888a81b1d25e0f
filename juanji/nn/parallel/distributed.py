"""``DistributedDataParallel``: one model replica per process, gradients averaged over the
processes during backward (torch.nn.parallel.DistributedDataParallel on MPI).

Each of K ranks runs the same model on its own part of the global batch (B/K samples, e.g.
from a ``DistributedSampler``). With a loss that is a mean over the batch, the average of the K
local gradients is the gradient of the global batch, so every rank's optimizer takes the step
one process with batch B would take:

    grad = (1/K) * sum_k grad_k

At construction the parameters and buffers of rank 0 are broadcast to all ranks, so every
replica starts equal and (with equal gradients) stays equal. During backward, each parameter's
hook hands its gradient to the :class:`~juanji.nn.parallel._reducer.Reducer`, which all-reduces
buckets of gradients while the backward pass goes on. ``no_sync()`` skips the averaging (the
gradients accumulate locally; the first backward after it averages the sum). With
``broadcast_buffers`` (default) every forward first copies rank 0's buffers (BatchNorm running
statistics) to all ranks.

    model = DistributedDataParallel(Net())            # after dist.init_process_group
    loss_fn(model(x_local), y_local).backward()       # .grad: averaged over the ranks
    optimizer.step()
    torch.save(model.module.state_dict(), ...)        # or model.state_dict(): keys 'module.*'
"""

from __future__ import annotations

import contextlib

import numpy as np

from ... import distributed as dist
from ...autograd.function import Op
from ...autograd.grad_mode import is_grad_enabled
from ...distributed import _mpi
from ...distributed._mpi import message as _msg
from ...distributed.process_group import ProcessGroup, resolve
from ...distributed.work import Work
from ...tensor import Tensor
from ..modules.module import Module
from ._reducer import FIRST_BUCKET_BYTES, Reducer

__all__ = ["DistributedDataParallel"]


def _flatten(value, out: list) -> list:
    """The Tensors inside a forward's output (tensor, or nested tuple/list/dict of them)."""
    if isinstance(value, Tensor):
        out.append(value)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _flatten(v, out)
    elif isinstance(value, dict):
        for v in value.values():
            _flatten(v, out)
    return out


def _reachable_leaves(outputs) -> set:
    """ids of the leaf Tensors that the outputs' graph reaches (the parameters that get a gradient)."""
    seen, leaves = set(), set()
    stack = []
    for t in outputs:
        if t.grad_fn is not None:
            stack.append(t.grad_fn)
        elif t.requires_grad:
            leaves.add(id(t))
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for edge in node.edges:
            if edge is None:
                continue
            target = edge[0]
            if isinstance(target, Op):
                stack.append(target)
            else:  # a leaf: the Tensor itself, or its AccumulateGrad node (which holds it)
                leaves.add(id(getattr(target, "variable", target)))
    return leaves


def _coalesced_broadcast(tensors, pg, src_rank: int, what: str) -> None:
    """Copy rank ``src_rank``'s values of ``tensors`` into everyone's: one broadcast per dtype."""
    by_dtype = {}
    for t in tensors:
        by_dtype.setdefault(t._data.dtype, []).append(t)
    MPI = _mpi.mpi()
    for dtype, group in by_dtype.items():
        flat = np.concatenate([t._data.reshape(-1) for t in group]) if group else np.empty(0, dtype)
        Work([pg.comm.Ibcast(_msg(flat), src_rank)], pg, what).wait()
        offset = 0
        for t in group:
            n = t._data.size
            t._data[...] = flat[offset:offset + n].reshape(t._data.shape)
            offset += n


class DistributedDataParallel(Module):
    """Data-parallel training of ``module`` over the ranks of ``process_group`` (the default
    group if None). ``module`` stays reachable as ``.module``; torch's other arguments are
    accepted (``device_ids``/``output_device`` are for GPUs and unused on the CPU)."""

    def __init__(self, module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True,
                 init_sync=True, process_group=None, bucket_cap_mb=None, find_unused_parameters=False,
                 check_reduction=False, gradient_as_bucket_view=False, static_graph=False,
                 delay_all_reduce_named_params=None, param_to_hook_all_reduce=None, mixed_precision=None,
                 device_mesh=None, skip_all_reduce_unused_params=False):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected module to be an nn.Module, got {type(module).__name__}")
        pg = resolve(process_group, "DistributedDataParallel")
        if pg is None:
            raise ValueError("DistributedDataParallel: this rank is not a member of process_group")
        self.module = module
        self.device_ids = device_ids
        self.output_device = output_device
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.process_group = pg
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        if self.bucket_bytes_cap <= 0:
            raise ValueError(f"DistributedDataParallel: expected bucket_cap_mb > 0, got {bucket_cap_mb}")

        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        self._param_names = [n for n, _ in named]
        self._params = [p for _, p in named]
        self._buffers_to_sync = list(module.buffers())
        self._check_same_model()
        if init_sync:
            _coalesced_broadcast(self._params + self._buffers_to_sync, pg, 0,
                                 "DistributedDataParallel: broadcasting the parameters of rank 0")
        # the reducer's own communicator: its buckets never queue behind (or between) the
        # collectives the model itself runs during backward (SyncBatchNorm's)
        own = ProcessGroup(pg.comm.Dup(), pg.ranks, pg.timeout)
        self.reducer = Reducer(self._params, own, self.bucket_bytes_cap, find_unused_parameters,
                               FIRST_BUCKET_BYTES if bucket_cap_mb is None else None)
        self._hook_handles = [self._register_grad_hook(i, p) for i, p in enumerate(self._params)]

    # ------------------------------------------------------------------ set-up
    def _check_same_model(self) -> None:
        """Every rank must wrap the same architecture: compare names, shapes and dtypes."""
        mine = [(n, tuple(p.shape), str(p.dtype)) for n, p in zip(self._param_names, self._params)]
        everyone = [None] * self.process_group.size()
        dist.all_gather_object(everyone, mine, group=self.process_group)
        for rank, theirs in enumerate(everyone):
            if theirs != mine:
                diff = next((f"{a} vs {b}" for a, b in zip(mine, theirs) if a != b),
                            f"{len(mine)} vs {len(theirs)} parameters")
                raise RuntimeError(f"DistributedDataParallel: the model differs between ranks: this rank "
                                   f"({self.process_group.rank()}) vs rank {self.process_group.ranks[rank]}: {diff}")

    def _register_grad_hook(self, i: int, param):
        # runs once param.grad holds this backward's gradient (the leaf's AccumulateGrad node), so
        # a full bucket starts its all-reduce while the layers below are still differentiated
        reducer = self.reducer
        return param.register_post_accumulate_grad_hook(lambda p: reducer.mark_ready(i))

    # ------------------------------------------------------------------ forward
    def forward(self, *inputs, **kwargs):
        if self.broadcast_buffers and self.require_forward_param_sync and self._buffers_to_sync \
                and self.process_group.size() > 1:
            _coalesced_broadcast(self._buffers_to_sync, self.process_group, 0,
                                 "DistributedDataParallel: broadcasting the buffers of rank 0")
        syncing = is_grad_enabled() and self.require_backward_grad_sync
        if syncing and not self.find_unused_parameters:
            self.reducer.prepare()
        output = self.module(*inputs, **kwargs)
        if syncing and self.find_unused_parameters:
            reached = _reachable_leaves(_flatten(output, []))
            self.reducer.prepare([i for i, p in enumerate(self._params) if id(p) not in reached])
        elif not syncing:
            self.reducer.disarm()
        return output

    @contextlib.contextmanager
    def no_sync(self):
        """Inside: backward accumulates gradients locally, without averaging (gradient
        accumulation); the first backward after it averages the accumulated gradients."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def _set_static_graph(self) -> None:
        self.static_graph = True

    def __getstate__(self):
        raise RuntimeError("DistributedDataParallel is not picklable: save model.module or its state_dict")
