"""torch.backends: switches and questions about the libraries under torch. juanji computes with
NumPy, Numba and CuPy, so these record what a script sets (``cudnn.benchmark = True``) and answer as
torch answers on a machine without those libraries (``mps.is_available()`` False); nothing changes
juanji's results, which are deterministic already."""

from . import cpu, cuda, cudnn, mkl, mkldnn, mps, openmp, opt_einsum  # noqa: F401

__all__ = ["cpu", "cuda", "cudnn", "mkl", "mkldnn", "mps", "openmp", "opt_einsum"]
