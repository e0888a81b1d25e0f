"""Tensor basics as *Dive into Deep Learning* teaches them (sections 2.1 data manipulation and
2.3 linear algebra), as functions of the library so the same code runs on juanji and on PyTorch.

Each section returns a dict of what the book prints. ``reductions_numpy_style`` is the book's
own spelling (``A.sum(axis=0)``, ``keepdims=True``): PyTorch accepts NumPy's ``axis``/``keepdims``
as aliases of ``dim``/``keepdim`` in every reduction; ``reductions`` is the same computation
spelled with ``dim``/``keepdim``.

Run it:  python examples/d2l_tensor_basics.py           (juanji)
         python examples/d2l_tensor_basics.py --torch   (PyTorch, for comparison)
"""

import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from d2l_common import library, run_sections  # noqa: E402


def getting_started(torch):
    x = torch.arange(12, dtype=torch.float32)
    X = x.reshape(3, 4)
    return {
        "x": x, "numel": x.numel(), "shape": x.shape, "X": X,
        "reshape_inferred": x.reshape(-1, 4),
        "zeros": torch.zeros((2, 3, 4)),
        "ones": torch.ones((2, 3, 4)),
        "randn_shape": torch.randn(3, 4).shape,
        "from_lists": torch.tensor([[2, 1, 4, 3], [1, 2, 3, 4], [4, 3, 2, 1]]),
    }


def indexing_and_slicing(torch):
    X = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    last, middle, first = X[-1], X[1:3], X[0]
    X[1, 2] = 17
    after_element = X.clone()
    X[:2, :] = 12
    return {"last_row": last, "rows_1_2": middle, "after_X[1,2]=17": after_element, "after_X[:2,:]=12": X,
            "first_row_is_a_view": first}  # X[0] shares storage with X: it saw the writes


def operations(torch):
    x = torch.arange(12, dtype=torch.float32)
    a = torch.tensor([1.0, 2, 4, 8])
    b = torch.tensor([2, 2, 2, 2])
    X = torch.arange(12, dtype=torch.float32).reshape((3, 4))
    Y = torch.tensor([[2.0, 1, 4, 3], [1, 2, 3, 4], [4, 3, 2, 1]])
    return {
        "exp": torch.exp(x),
        "x+y, x-y, x*y, x/y, x**y": (a + b, a - b, a * b, a / b, a ** b),
        "cat_dim0": torch.cat((X, Y), dim=0),
        "cat_dim1": torch.cat((X, Y), dim=1),
        "X == Y": X == Y, "X < Y": X < Y,
        "X.sum()": X.sum(),
    }


def broadcasting(torch):
    a = torch.arange(3).reshape((3, 1))
    b = torch.arange(2).reshape((1, 2))
    c = torch.arange(6).reshape((1, 2, 3))
    return {"a": a, "b": b, "a + b": a + b, "3-d": c + torch.ones((4, 1, 1), dtype=torch.int64)}


def saving_memory(torch):
    X = torch.arange(12, dtype=torch.float32).reshape((3, 4))
    Y = torch.tensor([[2.0, 1, 4, 3], [1, 2, 3, 4], [4, 3, 2, 1]])
    before = id(Y)
    Y = Y + X
    new_object = id(Y) != before
    Z = torch.zeros_like(Y)
    id_before = id(Z)
    Z[:] = X + Y
    same_after_slice_assign = id(Z) == id_before
    before = id(X)
    X += Y
    return {"Y = Y + X makes a new tensor": new_object, "Z[:] = ... keeps Z": same_after_slice_assign,
            "X += Y keeps X": id(X) == before, "X": X, "Z": Z}


def conversion(torch):
    X = torch.arange(12, dtype=torch.float32).reshape((3, 4))
    A = X.numpy()
    B = torch.from_numpy(A)
    A[0, 0] = 100.0  # from_numpy and .numpy() share memory with the tensor
    a = torch.tensor([3.5])
    return {"types": (type(A).__name__, type(B).__name__), "shares_memory": (X[0, 0].item(), B[0, 0].item()),
            "a": a, "a.item()": a.item(), "float(a)": float(a), "int(a)": int(a),
            "back_and_forth": torch.tensor(X.numpy() * 2)}


def linear_algebra(torch):
    x, y = torch.tensor(3.0), torch.tensor(2.0)
    v = torch.arange(3)
    A = torch.arange(6).reshape(3, 2)
    S = torch.tensor([[1, 2, 3], [2, 0, 4], [3, 4, 5]])
    M = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    B = M.clone()
    X = torch.arange(24).reshape(2, 3, 4)
    return {
        "scalars": (x + y, x * y, x / y, x ** y),
        "vector": (v, v[2], len(v), v.shape),
        "transpose": A.T, "symmetric": S == S.T,
        "A + B, A * B": (M + B, M * B),
        "2 + X": 2 + X, "(2 * X).shape": (2 * X).shape,
    }


def reductions(torch):
    x = torch.arange(3, dtype=torch.float32)
    A = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    sum_A = A.sum(dim=1, keepdim=True)
    return {
        "x.sum()": x.sum(), "A.sum()": A.sum(),
        "A.sum(dim=0)": A.sum(dim=0), "A.sum(dim=1)": A.sum(dim=1),
        "A.sum(dim=[0, 1]) == A.sum()": A.sum(dim=[0, 1]) == A.sum(),
        "A.mean(), A.sum() / A.numel()": (A.mean(), A.sum() / A.numel()),
        "A.mean(dim=0), A.sum(dim=0) / A.shape[0]": (A.mean(dim=0), A.sum(dim=0) / A.shape[0]),
        "sum_A": sum_A, "A / sum_A": A / sum_A, "A.cumsum(dim=0)": A.cumsum(dim=0),
    }


def reductions_numpy_style(torch):
    """The book's spelling: NumPy's ``axis``/``keepdims``, which torch accepts as aliases."""
    A = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    sum_A = A.sum(axis=1, keepdims=True)
    return {
        "A.sum(axis=0)": A.sum(axis=0), "A.sum(axis=1)": A.sum(axis=1),
        "A.sum(axis=[0, 1]) == A.sum()": A.sum(axis=[0, 1]) == A.sum(),
        "A.mean(axis=0)": A.mean(axis=0), "sum_A": sum_A, "A / sum_A": A / sum_A,
        "A.cumsum(axis=0)": A.cumsum(axis=0),
        "y_hat.argmax(axis=1)": torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]]).argmax(axis=1),
        "torch.cat(..., axis=1)": torch.cat((A, A), axis=1),
    }


def products_and_norms(torch):
    x = torch.arange(3, dtype=torch.float32)
    y = torch.ones(3, dtype=torch.float32)
    A = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    B = torch.ones(3, 4)
    u = torch.tensor([3.0, -4.0])
    return {
        "dot": (torch.dot(x, y), torch.sum(x * y)),
        "mv": (A.shape, x.shape, torch.mv(A, x), A @ x),
        "mm": (torch.mm(A, B), A @ B),
        "norms": (torch.norm(u), torch.abs(u).sum(), torch.norm(torch.ones((4, 9)))),
    }


SECTIONS = [getting_started, indexing_and_slicing, operations, broadcasting, saving_memory, conversion,
            linear_algebra, reductions, reductions_numpy_style, products_and_norms]


def main(argv=None):
    return run_sections(library(argv), SECTIONS)


if __name__ == "__main__":
    sys.exit(main())
