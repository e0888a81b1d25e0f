"""torch.amp: automatic mixed precision -- ``autocast`` and ``GradScaler``.

juanji computes every operation in the dtype of its inputs; it has no lower-precision kernels
(NumPy has no bfloat16, and float16 has no fast BLAS on the CPU). So:

- ``autocast(..., enabled=False)`` does nothing, as in torch;
- ``autocast("cuda", ...)`` on a machine without a GPU warns and disables itself, as torch does;
- ``autocast`` that would really lower the precision (``"cpu"``, or ``"cuda"`` with a GPU) refuses
  with one line naming what is unsupported, rather than silently computing in float32;
- ``GradScaler`` is torch's: it scales the loss, unscales the gradients, skips the step when they
  are not finite and adapts the scale (on ``"cuda"`` without a GPU it disables itself, as torch's).
"""

from __future__ import annotations

import functools
import math
import warnings

from .. import _dtype as dt
from ..backend import cupy_available

__all__ = ["autocast", "GradScaler", "custom_fwd", "custom_bwd", "is_autocast_available", "is_autocast_enabled",
           "get_autocast_dtype", "set_autocast_enabled", "set_autocast_dtype"]

_DEVICE_TYPES = ("cpu", "cuda", "xpu", "mps", "hpu", "mtia", "xla", "ipu", "maia")
_DEFAULT_DTYPES = {"cpu": dt.bfloat16, "cuda": dt.float16}
_enabled = {}


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast can lower the precision on this device type (never, in juanji)."""
    return False


def is_autocast_enabled(device_type: str = "cuda") -> bool:
    return _enabled.get(device_type, False)


def set_autocast_enabled(device_type, enabled=None) -> None:
    if enabled is None:  # torch's older one-argument form
        device_type, enabled = "cuda", device_type
    if enabled:
        raise RuntimeError(_refusal(device_type, _DEFAULT_DTYPES.get(device_type, dt.float16)))
    _enabled[device_type] = False


def get_autocast_dtype(device_type: str):
    return _DEFAULT_DTYPES.get(device_type, dt.float16)


def set_autocast_dtype(device_type, dtype) -> None:
    _DEFAULT_DTYPES[device_type] = dtype


def _refusal(device_type, dtype) -> str:
    name = getattr(dtype, "name", str(dtype))
    return (f"juanji.autocast: mixed precision (device_type='{device_type}', dtype=torch.{name}) is not supported: "
            "juanji computes every op in its inputs' dtype; use enabled=False, or convert the model and inputs "
            "with .half()")


class autocast:
    """``with juanji.autocast(device_type, dtype=None, enabled=True, cache_enabled=None):`` (also a
    decorator). See the module docstring for what it does in juanji."""

    def __init__(self, device_type, dtype=None, enabled=True, cache_enabled=None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        if device_type not in _DEVICE_TYPES:
            raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
        self.device = device_type
        self.fast_dtype = dtype if dtype is not None else get_autocast_dtype(device_type)
        self._enabled = bool(enabled)
        if self._enabled and device_type == "cuda" and not cupy_available():
            warnings.warn("CUDA is not available or torch_xla is imported. Disabling autocast.", UserWarning,
                          stacklevel=2)
            self._enabled = False
        elif self._enabled and device_type not in ("cpu", "cuda"):
            warnings.warn(f"User provided device_type of '{device_type}', but the device is not available. "
                          "Disabling", UserWarning, stacklevel=2)
            self._enabled = False

    def __enter__(self):
        if self._enabled:
            raise RuntimeError(_refusal(self.device, self.fast_dtype))
        self._previous = _enabled.get(self.device, False)
        _enabled[self.device] = False
        return self

    def __exit__(self, *exc):
        _enabled[self.device] = self._previous
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def in_autocast(*args, **kwargs):
            with self:
                return fn(*args, **kwargs)
        return in_autocast


def custom_fwd(fwd=None, *, device_type="cuda", cast_inputs=None):
    """Decorator for a custom Function's forward under autocast (nothing to do in juanji)."""
    if fwd is None:
        return lambda f: custom_fwd(f, device_type=device_type, cast_inputs=cast_inputs)
    return fwd


def custom_bwd(bwd=None, *, device_type="cuda"):
    """Decorator for a custom Function's backward under autocast (nothing to do in juanji)."""
    if bwd is None:
        return lambda f: custom_bwd(f, device_type=device_type)
    return bwd


class GradScaler:
    """Loss scaling for mixed-precision training, torch's algorithm:

    - ``scale(loss)`` multiplies by the scale S;
    - ``unscale_(optimizer)`` divides the gradients of the optimizer's parameters by S and notes
      whether any is inf or NaN;
    - ``step(optimizer)`` unscales (if not done) and steps, unless a gradient was not finite;
    - ``update()``: after a skipped step S *= backoff_factor; after ``growth_interval`` finite
      steps in a row S *= growth_factor.

    On ``"cuda"`` without a GPU it disables itself with torch's warning, and then every method
    passes through (``scale`` returns the loss, ``step`` just steps).
    """

    def __init__(self, device="cuda", init_scale=2.0 ** 16, growth_factor=2.0, backoff_factor=0.5,
                 growth_interval=2000, enabled=True):
        self._device = device
        self._enabled = bool(enabled)
        if self._enabled and device == "cuda" and not cupy_available():
            warnings.warn("torch.cuda.amp.GradScaler is enabled, but CUDA is not available.  Disabling.",
                          UserWarning, stacklevel=2)
            self._enabled = False
        if growth_factor <= 1.0:
            raise ValueError("The growth factor must be > 1.0.")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError("The backoff factor must be < 1.0.")
        self._scale = float(init_scale)
        self._growth_factor, self._backoff_factor = float(growth_factor), float(backoff_factor)
        self._growth_interval = int(growth_interval)
        self._growth_tracker = 0
        self._found_inf = False
        self._unscaled = set()

    def is_enabled(self) -> bool:
        return self._enabled

    def get_scale(self) -> float:
        return self._scale if self._enabled else 1.0

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, value) -> None:
        self._growth_factor = float(value)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, value) -> None:
        self._backoff_factor = float(value)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, value) -> None:
        self._growth_interval = int(value)

    def scale(self, outputs):
        """outputs * S (a tensor, or each tensor of a list/tuple/dict)."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        if isinstance(outputs, dict):
            return {k: self.scale(v) for k, v in outputs.items()}
        return outputs * self._scale

    def unscale_(self, optimizer) -> None:
        """Divide the optimizer's gradients by S (once per step) and note non-finite ones."""
        if not self._enabled:
            return
        if id(optimizer) in self._unscaled:
            raise RuntimeError("unscale_() has already been called on this optimizer since the last update().")
        inverse = 1.0 / self._scale
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                p.grad._data *= p.grad._data.dtype.type(inverse)
                if not bool(p.grad.isfinite().all()):
                    self._found_inf = True
        self._unscaled.add(id(optimizer))

    def step(self, optimizer, *args, **kwargs):
        """optimizer.step() unless a gradient is inf or NaN (then the step is skipped)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if id(optimizer) not in self._unscaled:
            self.unscale_(optimizer)
        if self._found_inf:
            return None
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None) -> None:
        """Adapt S after a step (or set it to ``new_scale``)."""
        if not self._enabled:
            return
        if new_scale is not None:
            self._scale = float(new_scale.item() if hasattr(new_scale, "item") else new_scale)
        elif self._found_inf:
            self._scale *= self._backoff_factor
            self._growth_tracker = 0
        else:
            self._growth_tracker += 1
            if self._growth_tracker == self._growth_interval:
                self._scale *= self._growth_factor
                self._growth_tracker = 0
        if not math.isfinite(self._scale):
            self._scale = float("inf")
        self._found_inf = False
        self._unscaled.clear()

    def state_dict(self) -> dict:
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor, "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval, "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict) -> None:
        if not self._enabled:
            return
        if not state_dict:
            raise RuntimeError("The source state dict is empty, possibly because it was saved from a disabled "
                               "instance of GradScaler.")
        self._scale = float(state_dict["scale"])
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])
