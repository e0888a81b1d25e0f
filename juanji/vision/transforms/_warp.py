"""Geometric warps of image arrays ``[..., C, H, W]``: affine maps (rotation, translation, scale, shear)
and perspective maps, by inverse mapping and sampling, as torchvision's tensor path does.

For every output pixel centre the inverse map gives a point of the input; the output is the input
read there (nearest or bilinear), 0 outside the image. In torchvision's coordinates (torch's
``affine_grid`` + ``grid_sample(align_corners=False)``):

    output pixel (i, j)  ->  (x, y) = (j - (ow - 1) / 2, i - (oh - 1) / 2)       centred coordinates
    input point          ->  (u, v) = M (x, y, 1) / (w / 2, h / 2)               normalised to [-1, 1]
    read at pixel        ->  (((u + 1) w - 1) / 2, ((v + 1) h - 1) / 2)

computed in the image's float precision (float32 for integer images), in that order, so that the
reads fall where torch's do. Nearest rounds half to even; bilinear weighs the four neighbours.
With a ``fill`` the output is blended with it by the coverage (the same read of an all-ones image):
nearest takes the fill where coverage < 0.5, bilinear gives ``(out - fill) * coverage + fill``.
Integer images are computed in float32 and rounded back (half to even).

The affine matrix (torchvision's ``_get_inverse_affine_matrix``): with rotation t, shears (sx, sy),
scale s, translation (tx, ty) and centre (cx, cy), the forward map is

    T(tx, ty) C R(t) S(s) SHy(sy) SHx(sx) C^-1,  where R S SHy SHx = s [[a, b], [c, d]] with
        a = cos(t - sy) / cos sy,   b = -(a tan sx + sin t),
        c = sin(t - sy) / cos sy,   d = cos t - c tan sx

and sampling uses its inverse. Angles are in degrees, clockwise on screen for a positive angle in
``affine`` (and ``rotate`` passes -angle, so that its positive angle turns counter-clockwise).
"""

from __future__ import annotations

import math

import numpy as np

from ...backend import xp_of

__all__ = ["affine_matrix", "expanded_size", "affine", "rotate", "perspective_coefficients", "perspective",
           "linspace_like_torch", "displace"]


def affine_matrix(center, angle: float, translate, scale: float, shear, inverted: bool = True) -> list[float]:
    """The 2x3 affine matrix (row-major, 6 numbers): output -> input if ``inverted``, else input -> output."""
    rot = math.radians(angle)
    sx, sy = math.radians(shear[0]), math.radians(shear[1])
    cx, cy = center
    tx, ty = translate
    # the forward rotation-scale-shear block, without the scale: [[a, b], [c, d]]
    a = math.cos(rot - sy) / math.cos(sy)
    b = -(a * math.tan(sx) + math.sin(rot))
    c = math.sin(rot - sy) / math.cos(sy)
    d = math.cos(rot) - c * math.tan(sx)
    if inverted:  # the inverse of a 2x2 of determinant 1, divided by the scale, then the shifts
        m = [d / scale, -b / scale, 0.0, -c / scale, a / scale, 0.0]
        m[2] += cx - m[0] * (cx + tx) - m[1] * (cy + ty)
        m[5] += cy - m[3] * (cx + tx) - m[4] * (cy + ty)
    else:
        m = [a * scale, b * scale, 0.0, c * scale, d * scale, 0.0]
        m[2] += cx + tx - m[0] * cx - m[1] * cy
        m[5] += cy + ty - m[3] * cx - m[4] * cy
    return m


def expanded_size(matrix, w: int, h: int) -> tuple[int, int]:
    """The (width, height) that holds the whole warped image (``rotate(expand=True)``), torchvision's rule.

    The image's corners, mapped by ``matrix`` and measured from the top-left corner, span
    ceil(max) - floor(min) after cutting the precision to 1e-4 (so that 5.0000001 does not add a
    pixel). In float32, as torchvision computes it (and Pillow's expand gives the same sizes).
    """
    corners = np.array([[-0.5 * w, -0.5 * h, 1.0], [-0.5 * w, 0.5 * h, 1.0],
                        [0.5 * w, 0.5 * h, 1.0], [0.5 * w, -0.5 * h, 1.0]], dtype=np.float32)
    moved = corners @ np.asarray(matrix, dtype=np.float32).reshape(2, 3).T
    shift = np.array([0.5 * w, 0.5 * h], dtype=np.float32)
    tol = np.float32(1e-4)
    hi = np.ceil(np.trunc((moved.max(axis=0) + shift) / tol) * tol)
    lo = np.floor(np.trunc((moved.min(axis=0) + shift) / tol) * tol)
    size = hi - lo
    return int(size[0]), int(size[1])


def _work(dtype):
    return np.dtype(dtype).type if np.dtype(dtype).kind == "f" else np.float32


def _row_times(xs, ys, a, b, c, work):
    """``x a + y b + c`` as torch's batched matrix product computes it: ``x a`` rounded, then
    fused multiply-adds (in float32, emulated exactly through float64: the product of two float32
    is exact there), so that reads land on the same side of pixel boundaries as torch's."""
    first = xs * work(a)
    if work is np.float32:
        second = (ys.astype(np.float64) * np.float64(work(b)) + first.astype(np.float64)).astype(np.float32)
    else:
        second = ys * work(b) + first
    return second + work(c)


def _affine_reads(matrix, w: int, h: int, ow: int, oh: int, work):
    """Input read positions (pixels, [oh, ow] each) for an affine output of ow x oh."""
    m = np.asarray(matrix, dtype=work).reshape(2, 3)
    half = np.array([0.5 * w, 0.5 * h], dtype=work)
    r = m.T / half                                      # [3, 2]: torch's theta^T / (w/2, h/2)
    xs = np.linspace((1.0 - ow) * 0.5, (ow - 1.0) * 0.5, ow).astype(work)[None, :]
    ys = np.linspace((1.0 - oh) * 0.5, (oh - 1.0) * 0.5, oh).astype(work)[:, None]
    u = _row_times(xs, ys, r[0, 0], r[1, 0], r[2, 0], work)
    v = _row_times(xs, ys, r[0, 1], r[1, 1], r[2, 1], work)
    return _unnormalise(u, w, work), _unnormalise(v, h, work)


def _unnormalise(coord, size: int, work):
    """grid_sample's align_corners=False rule: ((c + 1) * size - 1) / 2."""
    return ((coord + work(1)) * work(size) - work(1)) / work(2)


def _take(xp, flat, ix, iy, w: int, h: int):
    """``flat[..., iy * w + ix]`` where (ix, iy) is inside the image (0 elsewhere), and the inside mask."""
    inside = (ix >= 0) & (ix < w) & (iy >= 0) & (iy < h)
    values = xp.take(flat, xp.where(inside, iy * w + ix, 0), axis=-1)
    return values * inside, inside


def _sample(img, gx, gy, mode: str, fill):
    """Read ``img`` [..., H, W] at (gx, gy) [oh, ow] with zero padding, blend with ``fill``, cast back."""
    xp = xp_of(img)
    h, w = img.shape[-2:]
    work = _work(img.dtype)
    flat = img.astype(work, copy=False).reshape(img.shape[:-2] + (h * w,))
    gx, gy = xp.asarray(gx), xp.asarray(gy)
    if mode == "nearest":
        out, inside = _take(xp, flat, xp.rint(gx).astype(np.int64), xp.rint(gy).astype(np.int64), w, h)
        coverage = inside.astype(work)
    else:
        x0, y0 = xp.floor(gx), xp.floor(gy)
        x1, y1 = x0 + 1, y0 + 1
        # torch's bilinear weights, each a product of two distances
        weights = (((x1 - gx) * (y1 - gy), x0, y0), ((gx - x0) * (y1 - gy), x1, y0),
                   ((x1 - gx) * (gy - y0), x0, y1), ((gx - x0) * (gy - y0), x1, y1))
        out, coverage = 0, 0
        for weight, cx, cy in weights:
            corner, inside = _take(xp, flat, cx.astype(np.int64), cy.astype(np.int64), w, h)
            out = out + corner * weight
            coverage = coverage + weight * inside
    out = out.reshape(img.shape[:-2] + gx.shape).astype(work, copy=False)
    if fill is not None:
        values = xp.asarray(fill if isinstance(fill, (list, tuple)) else [fill], dtype=work)
        fill_img = values.reshape(-1, 1, 1) if img.ndim >= 3 else values.reshape(())
        if mode == "nearest":
            out = xp.where(coverage < 0.5, fill_img, out)
        else:
            out = (out - fill_img) * coverage + fill_img
    if np.dtype(img.dtype).kind != "f":
        return xp.rint(out).astype(img.dtype)
    return out.astype(img.dtype, copy=False)


def affine(img, matrix, mode: str, fill, out_size=None):
    """Warp ``img`` [..., H, W] by the inverse affine ``matrix`` (output -> input, centred coordinates)
    into an output of ``out_size = (ow, oh)`` (default the input's size)."""
    h, w = img.shape[-2:]
    ow, oh = out_size if out_size is not None else (w, h)
    if img.size == 0:
        return img.reshape(img.shape[:-2] + (oh, ow))
    gx, gy = _affine_reads(matrix, w, h, ow, oh, _work(img.dtype))
    return _sample(img, gx, gy, mode, fill)


def rotate(img, angle: float, mode: str, expand: bool, center, fill):
    """Turn ``img`` counter-clockwise by ``angle`` degrees about ``center`` (x, y in pixels; default the
    middle); ``expand`` enlarges the output to hold it all. Quarter turns about the middle are exact
    (``rot90``), as in torchvision."""
    xp = xp_of(img)
    angle = angle % 360
    h, w = img.shape[-2:]
    if center is None:
        if angle == 0:
            return img.copy()
        if angle == 180:
            return xp.ascontiguousarray(xp.rot90(img, 2, axes=(-2, -1)))
        if expand or h == w:
            if angle in (90, 270):
                return xp.ascontiguousarray(xp.rot90(img, 1 if angle == 90 else 3, axes=(-2, -1)))
    offset = [0.0, 0.0] if center is None else [center[0] - 0.5 * w, center[1] - 0.5 * h]
    matrix = affine_matrix(offset, -angle, [0.0, 0.0], 1.0, [0.0, 0.0])
    out_size = expanded_size(matrix, w, h) if expand else (w, h)
    return affine(img, matrix, mode, fill, out_size)


def perspective_coefficients(startpoints, endpoints) -> list[float]:
    """The 8 coefficients (a..h) that map an output point to the input point (Pillow's PERSPECTIVE):
    ``x_in = (a x + b y + c) / (g x + h y + 1)``, ``y_in = (d x + e y + f) / (g x + h y + 1)``, found by
    least squares from the four point pairs (end point -> start point), in float64 as torchvision does."""
    rows = []
    for (sx, sy), (ex, ey) in zip(startpoints, endpoints):
        rows.append([ex, ey, 1, 0, 0, 0, -sx * ex, -sx * ey])
        rows.append([0, 0, 0, ex, ey, 1, -sy * ex, -sy * ey])
    a = np.array(rows, dtype=np.float64)
    b = np.array(startpoints, dtype=np.float64).reshape(8)
    coeffs = np.linalg.lstsq(a, b, rcond=None)[0]
    return [float(c) for c in coeffs.astype(np.float32)]


def perspective(img, coeffs, mode: str, fill):
    """Warp ``img`` by the perspective ``coeffs`` (output pixel -> input point, Pillow's convention:
    pixel centres at +0.5), as torchvision's tensor path does."""
    h, w = img.shape[-2:]
    if img.size == 0:
        return img
    work = _work(img.dtype)
    a, b, c, d, e, f, g, k = (work(v) for v in coeffs)
    half_w, half_h = work(0.5 * w), work(0.5 * h)
    xs = (np.arange(w, dtype=work) + work(0.5))[None, :]
    ys = (np.arange(h, dtype=work) + work(0.5))[:, None]
    denominator = _row_times(xs, ys, g, k, 1, work)
    # torch's order: the numerator rows divided by half the size first, then by the denominator
    u = _row_times(xs, ys, a / half_w, b / half_w, c / half_w, work) / denominator - work(1)
    v = _row_times(xs, ys, d / half_h, e / half_h, f / half_h, work) / denominator - work(1)
    return _sample(img, _unnormalise(u, w, work), _unnormalise(v, h, work), mode, fill)


def linspace_like_torch(start: float, end: float, steps: int, dtype=np.float32) -> np.ndarray:
    """``torch.linspace`` value for value: the step in ``dtype``, the first half counted up from ``start``
    and the second half down from ``end``, each value one fused multiply-add (emulated through float64
    for float32; float64 values are computed plainly)."""
    work = np.dtype(dtype).type
    first, last = work(start), work(end)
    step = work((last - first) / work(max(steps - 1, 1)))
    i = np.arange(steps)
    if work is np.float32:
        up = np.float64(first) + i * np.float64(step)
        down = np.float64(last) - (steps - 1 - i) * np.float64(step)
    else:
        up, down = first + i * step, last - (steps - 1 - i) * step
    return np.where(i < steps // 2, up, down).astype(work)


def displace(img, displacement, mode: str, fill):
    """Elastic warp: output pixel (i, j) reads the input at its own position plus ``displacement[0, i, j]``
    (x, y), in grid_sample's normalised units (the identity grid of torchvision's ``elastic``)."""
    h, w = img.shape[-2:]
    if img.size == 0:
        return img
    work = _work(img.dtype)
    xs = linspace_like_torch((-w + 1) / w, (w - 1) / w, w, work)[None, :]
    ys = linspace_like_torch((-h + 1) / h, (h - 1) / h, h, work)[:, None]
    shift = np.asarray(displacement, dtype=work)[0]
    u, v = xs + shift[..., 0], ys + shift[..., 1]
    return _sample(img, _unnormalise(u, w, work), _unnormalise(v, h, work), mode, fill)
