"""juanji (卷积): a convolutional-neural-network framework from first principles, with
PyTorch's API. ``import juanji as torch`` and code written for torch's Tensor, nn, optim and
utils.data runs on NumPy.
"""

from . import _dtype
from ._dtype import (bfloat16, bool, dtype, double, float, float16, float32, float64, get_default_dtype, half, int,
                     int8, int16, int32, int64, long, set_default_dtype, short, uint8)
from .backend import device
from .tensor import Size, Tensor, as_tensor, from_numpy, return_types, tensor
from .random import Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from .threads import get_num_threads, set_num_threads
from .creation import *  # noqa: F401,F403
from .functions import *  # noqa: F401,F403
from .functions_math import *  # noqa: F401,F403
from .functions_more import *  # noqa: F401,F403
from .from_memory import *  # noqa: F401,F403
from .settings import *  # noqa: F401,F403
from . import linalg  # noqa: E402
from .autograd import enable_grad, inference_mode, is_grad_enabled, is_inference_mode_enabled, no_grad, \
    set_grad_enabled
from .serialization import load, save
from . import safetensors  # noqa: E402  (juanji.safetensors.save_file/load_file; the package loads on first use)
from . import hub, onnx  # noqa: E402  (juanji.onnx needs the onnx package only when called)
from . import autograd, version
from ._torch_alias import install_as_torch, uninstall_as_torch  # run libraries written for torch unchanged

from .version import __version__  # noqa: E402


def is_tensor(obj) -> "builtins.bool":  # noqa: F821
    return isinstance(obj, Tensor)


# torch 2.x's runtime surface: devices, backends, mixed precision, testing (juanji/cuda,
# accelerator.py, backends/, amp/, testing/)
from . import accelerator, amp, backends, cpu, cuda, testing  # noqa: E402
from .amp import autocast, get_autocast_dtype, is_autocast_available, is_autocast_enabled  # noqa: E402


def __getattr__(name):
    # the heavy subpackages load on first use (juanji.nn, juanji.optim, juanji.utils, juanji.vision);
    # juanji.compile is a callable package: juanji.compile(model) is torch.compile(model)
    import importlib
    if name in ("nn", "optim", "utils", "vision", "explain", "compile"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'juanji' has no attribute '{name}'")
