"""Write ``juanji/kernels/_winograd_simd.py``: Winograd's tile transforms on 512-bit vectors, a row at a time.

    python scripts/gen_winograd_simd.py            # rewrite the module
    python scripts/gen_winograd_simd.py --check    # exit 1 if the module is not what this writes

``_winograd`` transforms tiles channels-last: every value of a tile is a run of C channels, and its
loops make one pass over the channels per term of each matrix product (``half[i, nu] += R[nu, j] *
tile[i, j]`` over c), in and out of memory, on 256-bit vectors. Here 16 channels of a tile value are
one ``f32x16`` (``_simd``), and each product is written out term by term with the matrix entries as
constants, for *one row* of the tile at a time inside a loop over the rows (then one column of the
half-transformed tile at a time): a loop body of a few dozen vector operations. (Unrolling the whole
6 x 6 tile, an earlier version, ran 10-18 % faster per layer than the loops but took 9 s to compile
per function; this one compiles in about a second.) The half-transformed rows go through a scratch
of ``a * b`` vectors (L1). The terms are added in ``_winograd``'s order, each product rounded before
its addition, so the results are its loops' (only the sign of a zero sum may differ). Functions:

- ``tiles_in_<R>``: ``out[a*xi + nu, p*C : (p+1)*C] = (R @ tile_p @ R^T)[xi, nu]`` (``_winograd._tiles_in``;
  ``out`` is ``(a*a, pstride)``, one row per position of the tile, ``pstride`` at least P*C);
- ``tiles_out_<Q>``: ``(Q @ v_p @ Q^T)`` of each tile written or added into the planes
  (``_winograd._tiles_out``).

The matrices are ``_winograd``'s own (imported here); ``tests/kernels/test_winograd.py`` checks that
the module is exactly what this script writes.
"""

from __future__ import annotations

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


def _constants(matrix):
    return sorted({abs(v) for row in matrix for v in row if v not in (0, 1, -1)})


def _sum(terms, table) -> str:
    """``0 + c0*x0 + c1*x1 + ...`` over the nonzero ``(c, x)`` in order, each product rounded first."""
    expr = "vzero()"
    for c, x in terms:
        if c == 1:
            expr = f"vadd({expr}, {x})"
        elif c == -1:
            expr = f"vsub({expr}, {x})"
        else:
            k = f"k{table.index(abs(c))}"
            expr = f"vadd({expr}, vmul({x}, {k}))" if c > 0 else f"vsub({expr}, vmul({x}, {k}))"
    return expr


def _preamble(signature, doc, scratch, planes, flats, matrix, table, tiles_array):
    """A function's decorator, signature, docstring and set-up: the sizes of ``planes``, the flat
    views ``flats``, the matrix's constants as vectors."""
    return (["@njit(cache=True, nogil=True)", f"def {signature}:",
             f'    """{doc}, channels a multiple of 16;',
             f'    ``half``: a float32 scratch of {scratch} values."""',
             f"    count, height, width, channels = {planes}.shape",
             "    tiles = tiles_h * tiles_w",
             f"    pstride = {tiles_array}.shape[1]  # row a*xi + nu of the tiles: that position's (tile, channel) values",
             f"    {flats[0]}, {flats[1]} = {flats[0][5:]}.reshape(-1), {flats[1][5:]}.reshape(-1)"]
            + [f"    k{table.index(v)} = vbcast(_K, {table.index(v)})" for v in _constants(matrix)])


def _tiles_in(name, R, step, table) -> list[str]:
    a, b = len(R), len(R[0])
    lines = _preamble(f"tiles_in_{name}(src, off_h, off_w, tiles_h, tiles_w, out, half)",
                      f"``_winograd._tiles_in`` with R = {name} ({a} x {b}), step {step}", a * b * 16, "src",
                      ("flat_src", "flat_out"), R, table, "out")
    lines += ["    for n in range(count):",
              "        for ty in range(tiles_h):",
              f"            r0 = ty * {step} - off_h",
              "            for tx in range(tiles_w):",
              f"                c0 = tx * {step} - off_w",
              "                p = n * tiles + ty * tiles_w + tx"]
    for j in range(b):
        lines.append(f"                col{j} = 0 <= c0 + {j} < width")
    lines += ["                for ch in range(0, channels, 16):",
              f"                    for i in range({b}):  # half[i, nu] = sum_j R[nu, j] tile[i, j]",
              "                        row = r0 + i",
              "                        inside = 0 <= row < height",
              "                        base = ((n * height + row) * width + c0) * channels + ch"]
    ind = "                        "
    for j in range(b):
        lines.append(f"{ind}d{j} = vload(flat_src, base + {j} * channels) if inside and col{j} else vzero()")
    for nu in range(a):
        expr = _sum([(R[nu][j], f"d{j}") for j in range(b) if R[nu][j]], table)
        lines.append(f"{ind}vstore(half, (i * {a} + {nu}) * 16, {expr})")
    lines.append(f"                    for nu in range({a}):  # out[xi, nu] = sum_i R[xi, i] half[i, nu]")
    for i in range(b):
        lines.append(f"{ind}e{i} = vload(half, ({i * a} + nu) * 16)")
    for xi in range(a):
        expr = _sum([(R[xi][i], f"e{i}") for i in range(b) if R[xi][i]], table)
        lines.append(f"{ind}vstore(flat_out, ({xi * a} + nu) * pstride + p * channels + ch, {expr})")
    lines.append("    return 0")
    return lines


def _tiles_out(name, Q, step, table) -> list[str]:
    b, a = len(Q), len(Q[0])
    lines = _preamble(f"tiles_out_{name}(src, off_h, off_w, tiles_h, tiles_w, dst, accumulate, half)",
                      f"``_winograd._tiles_out`` with Q = {name} ({b} x {a}), step {step}", a * b * 16, "dst",
                      ("flat_src", "flat_dst"), Q, table, "src")
    lines += ["    for n in range(count):",
              "        for ty in range(tiles_h):",
              f"            r0 = ty * {step} - off_h"]
    for i in range(b):
        lines.append(f"            row{i} = 0 <= r0 + {i} < height")
    lines += ["            for tx in range(tiles_w):",
              f"                c0 = tx * {step} - off_w",
              "                p = n * tiles + ty * tiles_w + tx",
              "                base = ((n * height + r0) * width + c0) * channels",
              "                for ch in range(0, channels, 16):",
              f"                    for xi in range({a}):  # half[xi, j] = sum_nu Q[j, nu] v[xi, nu]"]
    ind = "                        "
    for nu in range(a):
        lines.append(f"{ind}v{nu} = vload(flat_src, (xi * {a} + {nu}) * pstride + p * channels + ch)")
    for j in range(b):
        expr = _sum([(Q[j][nu], f"v{nu}") for nu in range(a) if Q[j][nu]], table)
        lines.append(f"{ind}vstore(half, (xi * {b} + {j}) * 16, {expr})")
    lines += [f"                    for j in range({b}):  # value[i, j] = sum_xi Q[i, xi] half[xi, j]",
              f"{ind}if not 0 <= c0 + j < width:",
              f"{ind}    continue"]
    for xi in range(a):
        lines.append(f"{ind}e{xi} = vload(half, ({xi * b} + j) * 16)")
    for i in range(b):
        expr = _sum([(Q[i][xi], f"e{xi}") for xi in range(a) if Q[i][xi]], table)
        lines += [f"{ind}if row{i}:",
                  f"{ind}    at = base + ({i} * width + j) * channels + ch",
                  f"{ind}    value = {expr}",
                  f"{ind}    vstore(flat_dst, at, vadd(vload(flat_dst, at), value) if accumulate else value)"]
    lines.append("    return 0")
    return lines


HEADER = '''"""GENERATED by scripts/gen_winograd_simd.py -- do not edit; change the generator and rerun it.

Winograd's tile transforms on 512-bit vectors, 16 channels at a time, a tile row (then a column) at a
time (see the generator's docstring): ``tiles_in_<R>`` as ``_winograd._tiles_in`` and ``tiles_out_<Q>``
as ``_winograd._tiles_out``, for the matrices of F(2,3) and F(4,3), with the same sums in the same order.
"""

import numpy as np
from numba import njit

from ._simd import vadd, vbcast, vload, vmul, vstore, vsub, vzero

__all__ = {names}

# the matrices' entries other than 0 and +-1, as broadcast constants
_K = np.array({constants}, dtype=np.float32)
'''


def source() -> str:
    mats = _matrices()
    table = sorted({v for matrix in mats.values() for v in _constants(matrix)})
    parts, names = [], []
    for name, step in (("BT4", 4), ("A4", 4), ("BT2", 2), ("A2", 2)):
        parts.append(_tiles_in(name, mats[name], step, table))
        names.append(f"tiles_in_{name}")
    for name, step in (("AT4", 4), ("B4", 4), ("AT2", 2), ("B2", 2)):
        parts.append(_tiles_out(name, mats[name], step, table))
        names.append(f"tiles_out_{name}")
    header = HEADER.format(names=repr(names), constants=repr([float(c) for c in table]))
    return header + "\n\n" + "\n\n\n".join("\n".join(lines) for lines in parts) + "\n"


def main(argv=None) -> int:
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    from _generated import main as generate
    return generate(__doc__, TARGET, source(), "scripts/gen_winograd_simd.py", argv)


if __name__ == "__main__":
    sys.exit(main())
