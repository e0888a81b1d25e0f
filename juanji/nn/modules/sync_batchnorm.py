"""``SyncBatchNorm``: batch normalisation whose statistics are those of the global batch, across
the processes of a data-parallel run (torch.nn.SyncBatchNorm).

With K ranks each holding B/K samples, a plain BatchNorm normalises each rank's slice with its
own statistics, and the run differs from one process with batch B; SyncBatchNorm exchanges the
statistics (forward) and the gradient sums (backward) so that it does not (see
``juanji.ops.sync_batch_norm`` for the formulas). Outside a multi-process group, or in
eval mode, it is exactly ``BatchNorm``. Any input of at least 2 dimensions ``(N, C, *)``.

    model = nn.SyncBatchNorm.convert_sync_batchnorm(model)   # every BatchNorm*d -> SyncBatchNorm
    model = DistributedDataParallel(model)
"""

from __future__ import annotations

from ...autograd.grad_mode import no_grad
from ...ops.sync_batch_norm import SyncBatchNormOp
from .normalization import _BatchNorm, _shape

__all__ = ["SyncBatchNorm"]


class SyncBatchNorm(_BatchNorm):
    """Batch norm over ``(N, C, *)`` with global-batch statistics in training (``process_group``:
    the ranks to synchronise, default the world)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 process_group=None, device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device=device, dtype=dtype)
        self.process_group = process_group

    def _check_input_dim(self, input) -> None:
        if input.ndim < 2:
            raise ValueError(f"SyncBatchNorm: expected at least 2D input (got {input.ndim}D input {_shape(input)})")
        if input.shape[1] == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")

    def _sync_group(self):
        """The process group to synchronise over, or None when there is nothing to synchronise."""
        from ... import distributed as dist
        if not dist.is_initialized():
            return None
        from ...distributed.process_group import resolve
        pg = resolve(self.process_group, "SyncBatchNorm")
        return pg if pg is not None and pg.size() > 1 else None

    def _batch_norm(self, input, running_mean, running_var, use_batch_stats: bool, factor: float):
        # (_BatchNorm.forward has checked the input and counted the batch; only the statistics differ)
        pg = self._sync_group() if use_batch_stats and self.training else None
        if pg is None:
            return super()._batch_norm(input, running_mean, running_var, use_batch_stats, factor)
        return _sync_batch_norm(input, self.weight, self.bias, running_mean, running_var, self.eps, factor, pg)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every ``BatchNorm1d/2d/3d`` inside replaced by a SyncBatchNorm that
        shares its parameters and buffers (the module itself if it is one)."""
        output = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            output = cls(module.num_features, module.eps, module.momentum, module.affine,
                         module.track_running_stats, process_group)
            if module.affine:
                with no_grad():
                    output.weight = module.weight
                    output.bias = module.bias
            output.running_mean = module.running_mean
            output.running_var = module.running_var
            output.num_batches_tracked = module.num_batches_tracked
            output.training = module.training
            if hasattr(module, "qconfig"):
                output.qconfig = module.qconfig
        for name, child in module.named_children():
            output.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        del module
        return output


def _sync_batch_norm(input, weight, bias, running_mean, running_var, eps, momentum, pg):
    from ..functional.normalization import _check_input, _check_per_channel, _update_running
    _check_input("sync_batch_norm", input, 2, ValueError)
    _check_per_channel("sync_batch_norm", input, input.shape[1], running_mean=running_mean,
                       running_var=running_var, weight=weight, bias=bias)
    y, mean, var, total = SyncBatchNormOp.apply(input, weight, bias, pg=pg, eps=eps)
    count = float(total._data)
    with no_grad():
        if running_mean is not None:
            _update_running(running_mean, mean._data, momentum)
        if running_var is not None:
            _update_running(running_var, var._data * (count / (count - 1)), momentum)
    return y

