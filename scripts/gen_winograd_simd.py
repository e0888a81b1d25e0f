"""Write ``juanji/kernels/_winograd_simd.py``: Winograd's tile transforms on 512-bit vectors.

    python scripts/gen_winograd_simd.py            # rewrite the module
    python scripts/gen_winograd_simd.py --check    # exit 1 if the module is not what this writes

``_winograd`` transforms tiles channels-last: every value of a tile is a run of C channels, and
its loops make one pass over the channels per term of each matrix product (``half[i, nu] +=
R[nu, j] * tile[i, j]`` over c, then the columns), in and out of memory. Here a block of 16
channels of a whole tile is one set of ``f32x16`` values (``_simd``), and both products are
written out term by term with the matrices' entries as constants: the loads of the tile, the
arithmetic, the stores of the result, nothing else. The terms are added in ``_winograd``'s order,
each product rounded before its addition, so the results are the same as its loops' (only the
sign of a zero sum may differ). One function per matrix and direction:

- ``tiles_in_<R>``: ``out[a*xi + nu, p, :] = (R @ tile_p @ R^T)[xi, nu]`` (``_winograd._tiles_in``);
- ``tiles_out_<Q>``: ``(Q @ v_p @ Q^T)`` of each tile written or added into the planes
  (``_winograd._tiles_out``).

The matrices are ``_winograd``'s own (imported here); ``tests/kernels/test_winograd.py`` checks that
the module is exactly what this script writes.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
TARGET = ROOT / "juanji" / "kernels" / "_winograd_simd.py"


def _matrices():
    sys.path.insert(0, str(ROOT))
    from juanji.kernels._winograd import _float_matrices
    out = {}
    for m in (2, 4):
        at, _, bt = _float_matrices(m, "f")
        out[f"BT{m}"] = bt.tolist()          # input tiles (R = B^T, a x a)
        out[f"A{m}"] = at.T.tolist()         # output-gradient tiles (R = A, a x m)
        out[f"AT{m}"] = at.tolist()          # outputs (Q = A^T, m x a)
        out[f"B{m}"] = bt.T.tolist()         # input gradient (Q = B, a x a)
    return out


def _sum(terms, constant) -> str:
    """``0 + c0*x0 + c1*x1 + ...`` for the nonzero ``(c, x)`` in order, each product rounded first."""
    expr = "vzero()"
    for c, x in terms:
        if c == 1:
            expr = f"vadd({expr}, {x})"
        elif c == -1:
            expr = f"vsub({expr}, {x})"
        else:
            expr = f"vadd({expr}, vmul({x}, {constant(c)}))"
    return expr


def _constants(matrix):
    values = sorted({abs(v) for row in matrix for v in row if v not in (0, 1, -1)})
    return values


def _tiles_in(name, R, step, table) -> list[str]:
    a, b = len(R), len(R[0])
    consts = _constants(R)

    def constant(c):
        k = f"k{int(abs(c))}"
        return k if c > 0 else f"vsub(vzero(), {k})"
    lines = ["@njit(cache=True, nogil=True)",
             f"def tiles_in_{name}(src, off_h, off_w, tiles_h, tiles_w, out):",
             f'    """``_winograd._tiles_in`` with R = {name} ({a} x {b}), step {step}, channels a multiple of 16."""',
             "    count, height, width, channels = src.shape",
             "    tiles = tiles_h * tiles_w",
             "    total = count * tiles",
             "    flat_src, flat_out = src.reshape(-1), out.reshape(-1)"]
    for v in consts:
        lines.append(f"    k{int(v)} = vbcast(_K, {table.index(v)})")
    lines += ["    for n in range(count):",
              "        for ty in range(tiles_h):",
              f"            r0 = ty * {step} - off_h"]
    for i in range(b):
        lines.append(f"            row{i} = 0 <= r0 + {i} < height")
    lines += ["            for tx in range(tiles_w):",
              f"                c0 = tx * {step} - off_w"]
    for j in range(b):
        lines.append(f"                col{j} = 0 <= c0 + {j} < width")
    lines += ["                p = n * tiles + ty * tiles_w + tx",
              "                base = ((n * height + r0) * width + c0) * channels",
              "                for ch in range(0, channels, 16):"]
    ind = "                    "
    for i in range(b):
        for j in range(b):
            lines.append(f"{ind}d{i}_{j} = vload(flat_src, base + ({i} * width + {j}) * channels + ch)"
                         f" if row{i} and col{j} else vzero()")
    for i in range(b):  # half[i, nu] = sum_j R[nu, j] d[i, j]
        for nu in range(a):
            lines.append(f"{ind}h{i}_{nu} = " + _sum([(R[nu][j], f"d{i}_{j}") for j in range(b) if R[nu][j]], constant))
    for xi in range(a):  # out[xi, nu] = sum_i R[xi, i] half[i, nu]
        for nu in range(a):
            expr = _sum([(R[xi][i], f"h{i}_{nu}") for i in range(b) if R[xi][i]], constant)
            lines.append(f"{ind}vstore(flat_out, (({xi * a + nu}) * total + p) * channels + ch, {expr})")
    lines.append("    return 0")
    return lines, consts


def _tiles_out(name, Q, step, table) -> list[str]:
    b, a = len(Q), len(Q[0])
    consts = _constants(Q)

    def constant(c):
        k = f"k{int(abs(c))}"
        return k if c > 0 else f"vsub(vzero(), {k})"
    lines = ["@njit(cache=True, nogil=True)",
             f"def tiles_out_{name}(src, off_h, off_w, tiles_h, tiles_w, dst, accumulate):",
             f'    """``_winograd._tiles_out`` with Q = {name} ({b} x {a}), step {step}, channels a multiple of 16."""',
             "    count, height, width, channels = dst.shape",
             "    tiles = tiles_h * tiles_w",
             "    total = count * tiles",
             "    flat_src, flat_dst = src.reshape(-1), dst.reshape(-1)"]
    for v in consts:
        lines.append(f"    k{int(v)} = vbcast(_K, {table.index(v)})")
    lines += ["    for n in range(count):",
              "        for ty in range(tiles_h):",
              f"            r0 = ty * {step} - off_h"]
    for i in range(b):
        lines.append(f"            row{i} = 0 <= r0 + {i} < height")
    lines += ["            for tx in range(tiles_w):",
              f"                c0 = tx * {step} - off_w"]
    for j in range(b):
        lines.append(f"                col{j} = 0 <= c0 + {j} < width")
    lines += ["                p = n * tiles + ty * tiles_w + tx",
              "                base = ((n * height + r0) * width + c0) * channels",
              "                for ch in range(0, channels, 16):"]
    ind = "                    "
    for xi in range(a):
        for nu in range(a):
            lines.append(f"{ind}v{xi}_{nu} = vload(flat_src, (({xi * a + nu}) * total + p) * channels + ch)")
    for xi in range(a):  # half[xi, j] = sum_nu Q[j, nu] v[xi, nu]
        for j in range(b):
            lines.append(f"{ind}h{xi}_{j} = " + _sum([(Q[j][nu], f"v{xi}_{nu}") for nu in range(a) if Q[j][nu]], constant))
    for i in range(b):  # value[i, j] = sum_xi Q[i, xi] half[xi, j]
        for j in range(b):
            expr = _sum([(Q[i][xi], f"h{xi}_{j}") for xi in range(a) if Q[i][xi]], constant)
            lines.append(f"{ind}if row{i} and col{j}:")
            lines.append(f"{ind}    at = base + ({i} * width + {j}) * channels + ch")
            lines.append(f"{ind}    value = {expr}")
            lines.append(f"{ind}    vstore(flat_dst, at, vadd(vload(flat_dst, at), value) if accumulate else value)")
    lines.append("    return 0")
    return lines, consts


HEADER = '''"""GENERATED by scripts/gen_winograd_simd.py -- do not edit; change the generator and rerun it.

Winograd's tile transforms on 512-bit vectors, 16 channels at a time (see the generator's
docstring): ``tiles_in_<R>`` as ``_winograd._tiles_in`` and ``tiles_out_<Q>`` as
``_winograd._tiles_out``, for the matrices of F(2,3) and F(4,3), with the same sums in the same order.
"""

import numpy as np
from numba import njit

from ._simd import vadd, vbcast, vload, vmul, vstore, vsub, vzero

__all__ = {names}

# the matrices' entries other than 0 and +-1, as broadcast constants
_K = np.array({constants}, dtype=np.float32)

'''


def source():
    mats = _matrices()
    table = sorted({v for matrix in mats.values() for v in _constants(matrix)})
    parts, names = [], []
    for name, step in (("BT4", 4), ("A4", 4), ("BT2", 2), ("A2", 2)):
        parts.append(_tiles_in(name, mats[name], step, table)[0])
        names.append(f"tiles_in_{name}")
    for name, step in (("AT4", 4), ("B4", 4), ("AT2", 2), ("B2", 2)):
        parts.append(_tiles_out(name, mats[name], step, table)[0])
        names.append(f"tiles_out_{name}")
    return HEADER, parts, names, table


def render() -> str:
    header, parts, names, consts = source()
    # every function indexes one shared constant table
    text = header.format(names=repr(names), constants=repr([float(c) for c in consts]))
    text = text + "\n\n" + "\n\n\n".join("\n".join(lines) for lines in parts) + "\n"
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the module differs from what this writes")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = TARGET.read_text() if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is not what scripts/gen_winograd_simd.py writes: rerun it", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
