"""The KeyPoints kernels of the geometric functionals: points [..., 2] (x, y) move as the image's pixels do.

    flips        x -> W - 1 - x (y -> H - 1 - y): pixel indices, unlike boxes' edges (W - x)
    crop / pad   shift by (-left, -top) / (left, top); the canvas changes; points are not clamped
    resize       x * new_W / W, y * new_H / H
    rotate / affine / perspective / elastic   the forward map of each point

Integer points are computed in float32 and cast back (truncated), as torchvision does.
"""

from __future__ import annotations

import numpy as np

from .....tensor import Tensor
from .... import tv_tensors
from ... import _warp
from . import _geometry as G
from ._meta import get_size
from ._utils import is_pure_tensor, plain, register_internal

__all__ = ["horizontal_flip_keypoints", "vertical_flip_keypoints", "resize_keypoints", "crop_keypoints",
           "center_crop_keypoints", "resized_crop_keypoints", "pad_keypoints", "rotate_keypoints", "affine_keypoints",
           "perspective_keypoints", "elastic_keypoints", "get_size_keypoints", "clamp_keypoints", "sanitize_keypoints"]

KeyPoints = tv_tensors.KeyPoints


def _points(keypoints):
    """Float [N, 2] points of a plain tensor, and how to give them back (shape, dtype)."""
    arr = keypoints._data
    work = arr.astype(arr.dtype if arr.dtype.kind == "f" else np.float32, copy=True)
    return work.reshape(-1, 2), arr.shape, arr.dtype


def _back(points, shape, dtype) -> Tensor:
    return Tensor._from_array(points.reshape(shape).astype(dtype))


def _register(functional, run):
    register_internal(functional, KeyPoints, wrap=False)(run)


# ---------------------------------------------------------------------------------- flips
def _mirror(keypoints, extent, column):
    points, shape, dtype = _points(keypoints)
    points[:, column] = (extent - 1) - points[:, column]
    return _back(points, shape, dtype)


def horizontal_flip_keypoints(keypoints, canvas_size):
    return _mirror(keypoints, canvas_size[1], 0)


def vertical_flip_keypoints(keypoints, canvas_size):
    return _mirror(keypoints, canvas_size[0], 1)


_register(G.horizontal_flip, lambda inpt: tv_tensors.wrap(horizontal_flip_keypoints(plain(inpt), inpt.canvas_size),
                                                          like=inpt))
_register(G.vertical_flip, lambda inpt: tv_tensors.wrap(vertical_flip_keypoints(plain(inpt), inpt.canvas_size),
                                                        like=inpt))


# ---------------------------------------------------------------------------------- resize, crops, pad
def resize_keypoints(keypoints, size, canvas_size, max_size=None):
    """Returns (points, new canvas_size)."""
    height, width = canvas_size
    new_h, new_w = G._output_size(height, width, size, max_size)
    if (new_h, new_w) == (height, width):
        return keypoints, tuple(canvas_size)
    points, shape, dtype = _points(keypoints)
    points = points * np.array([new_w / width, new_h / height], dtype=np.float32)
    return _back(points, shape, dtype), (new_h, new_w)


def _resize_dispatch(inpt, size, max_size=None, **kwargs):
    out, canvas = resize_keypoints(plain(inpt), size, inpt.canvas_size, max_size=max_size)
    return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)


_register(G.resize, _resize_dispatch)


def crop_keypoints(keypoints, top: int, left: int, height: int, width: int):
    """Returns (points shifted by (-left, -top), (height, width))."""
    arr = keypoints._data
    return Tensor._from_array(arr - np.array([left, top], dtype=arr.dtype)), (int(height), int(width))


def _crop_dispatch(inpt, top, left, height, width):
    out, canvas = crop_keypoints(plain(inpt), top, left, height, width)
    return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)


_register(G.crop, _crop_dispatch)


def center_crop_keypoints(keypoints, canvas_size, output_size):
    crop_h, crop_w = G._crop_size(output_size)
    top, left = int(round((canvas_size[0] - crop_h) / 2.0)), int(round((canvas_size[1] - crop_w) / 2.0))
    return crop_keypoints(keypoints, top, left, crop_h, crop_w)


def _center_crop_dispatch(inpt, output_size):
    out, canvas = center_crop_keypoints(plain(inpt), inpt.canvas_size, output_size)
    return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)


_register(G.center_crop, _center_crop_dispatch)


def resized_crop_keypoints(keypoints, top, left, height, width, size):
    points, canvas = crop_keypoints(keypoints, top, left, height, width)
    return resize_keypoints(points, size, canvas)


def _resized_crop_dispatch(inpt, top, left, height, width, size, **kwargs):
    out, canvas = resized_crop_keypoints(plain(inpt), top, left, height, width, size)
    return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)


_register(G.resized_crop, _resized_crop_dispatch)


def pad_keypoints(keypoints, canvas_size, padding, padding_mode="constant"):
    """Returns (points shifted by (left, top), the padded canvas)."""
    if padding_mode != "constant":
        raise ValueError(f"Padding mode '{padding_mode}' is not supported with KeyPoints (supported modes are "
                         "constant)")
    left, top, right, bottom = G.padding_ltrb(padding, "pad")
    arr = keypoints._data
    canvas = (canvas_size[0] + top + bottom, canvas_size[1] + left + right)
    return Tensor._from_array(arr + np.array([left, top], dtype=arr.dtype)), canvas


def _pad_dispatch(inpt, padding, padding_mode="constant", **kwargs):
    out, canvas = pad_keypoints(plain(inpt), inpt.canvas_size, padding, padding_mode)
    return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)


_register(G.pad, _pad_dispatch)


# ---------------------------------------------------------------------------------- warps
def _affine_points(keypoints, canvas_size, angle, translate, scale, shear, center, expand):
    if keypoints.numel() == 0:
        return keypoints, tuple(canvas_size)
    angle, translate, shear, center = G._affine_args(angle, translate, scale, shear, center)
    height, width = canvas_size
    if center is None:
        center = [width * 0.5, height * 0.5]
    points, shape, dtype = _points(keypoints)
    forward = np.asarray(_warp.affine_matrix(center, angle, translate, float(scale), shear, inverted=False),
                         dtype=points.dtype).reshape(2, 3)
    moved = points @ forward[:, :2].T + forward[:, 2]
    if expand:  # as the boxes: the image's expanded canvas, centre to centre
        offset = [center[0] - width * 0.5, center[1] - height * 0.5]
        new_w, new_h = _warp.expanded_size(_warp.affine_matrix(offset, angle, translate, float(scale), shear),
                                           width, height)
        moved += np.array([(new_w - width) / 2, (new_h - height) / 2], dtype=moved.dtype)
        canvas_size = (new_h, new_w)
    return _back(moved, shape, dtype), tuple(canvas_size)


def affine_keypoints(keypoints, canvas_size, angle, translate, scale, shear, center=None):
    """Returns (points, canvas_size)."""
    return _affine_points(keypoints, canvas_size, angle, translate, scale, shear, center, False)


def rotate_keypoints(keypoints, canvas_size, angle, expand=False, center=None):
    """Returns (points, canvas_size)."""
    return _affine_points(keypoints, canvas_size, -angle, [0.0, 0.0], 1.0, [0.0, 0.0], center, expand)


def _affine_dispatch(inpt, angle, translate, scale, shear, center=None, **kwargs):
    out, canvas = affine_keypoints(plain(inpt), inpt.canvas_size, angle, translate, scale, shear, center)
    return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)


def _rotate_dispatch(inpt, angle, expand=False, center=None, **kwargs):
    out, canvas = rotate_keypoints(plain(inpt), inpt.canvas_size, angle, expand=expand, center=center)
    return tv_tensors.wrap(out, like=inpt, canvas_size=canvas)


_register(G.affine, _affine_dispatch)
_register(G.rotate, _rotate_dispatch)


def perspective_keypoints(keypoints, canvas_size, startpoints, endpoints, coefficients=None):
    """Each point through the inverse of the sampling homography (startpoints -> endpoints)."""
    if keypoints.numel() == 0:
        return keypoints
    a, b, c, d, e, f, g, h = G._perspective_coefficients(startpoints, endpoints, coefficients)
    if a * e - b * d == 0:
        raise RuntimeError(f"Provided perspective_coeffs {[a, b, c, d, e, f, g, h]} can not be inverted to "
                           "transform keypoints.")
    inverse = np.linalg.inv(np.array([[a, b, c], [d, e, f], [g, h, 1.0]]))
    points, shape, dtype = _points(keypoints)
    homogeneous = np.concatenate([points, np.ones((len(points), 1))], axis=1) @ inverse.T
    return _back(homogeneous[:, :2] / homogeneous[:, 2:], shape, dtype)


_register(G.perspective, lambda inpt, startpoints, endpoints, coefficients=None, **kwargs: tv_tensors.wrap(
    perspective_keypoints(plain(inpt), inpt.canvas_size, startpoints, endpoints, coefficients), like=inpt))


def elastic_keypoints(keypoints, canvas_size, displacement):
    """Each point moved by minus the displacement at its pixel (torchvision's approximation)."""
    height, width = canvas_size
    shift = G._displacement_array(displacement, height, width)
    if keypoints.numel() == 0:
        return keypoints
    points, shape, dtype = _points(keypoints)
    work = points.dtype.type
    xs = _warp.linspace_like_torch((-width + 1) / width, (width - 1) / width, width, work)
    ys = _warp.linspace_like_torch((-height + 1) / height, (height - 1) / height, height, work)
    index = points.astype(np.int64)
    ix, iy = np.clip(index[:, 0], 0, width - 1), np.clip(index[:, 1], 0, height - 1)
    inverse = np.stack([xs[ix], ys[iy]], axis=1) - shift[0, iy, ix].astype(work)
    size = np.array([width, height], dtype=work)
    return _back((inverse + work(1)) * (work(0.5) * size) - work(0.5), shape, dtype)


_register(G.elastic, lambda inpt, displacement, **kwargs: tv_tensors.wrap(
    elastic_keypoints(plain(inpt), inpt.canvas_size, displacement), like=inpt))


# ---------------------------------------------------------------------------------- meta
def get_size_keypoints(keypoints) -> list[int]:
    return list(keypoints.canvas_size)


register_internal(get_size, KeyPoints, wrap=False)(get_size_keypoints)


def _clamp_array(arr, canvas_size):
    work = arr.astype(arr.dtype if arr.dtype.kind == "f" else np.float32, copy=True)
    np.clip(work[..., 0], 0, canvas_size[1] - 1, out=work[..., 0])
    np.clip(work[..., 1], 0, canvas_size[0] - 1, out=work[..., 1])
    return work.astype(arr.dtype)


def clamp_keypoints(inpt, canvas_size=None):
    """Clamp x to [0, W - 1] and y to [0, H - 1]."""
    if is_pure_tensor(inpt):
        if canvas_size is None:
            raise ValueError("For pure tensor inputs, `canvas_size` has to be passed.")
        return Tensor._from_array(_clamp_array(inpt._data, canvas_size))
    if isinstance(inpt, KeyPoints):
        if canvas_size is not None:
            raise ValueError("For keypoints tv_tensor inputs, `canvas_size` must not be passed.")
        return tv_tensors.wrap(Tensor._from_array(_clamp_array(plain(inpt)._data, inpt.canvas_size)), like=inpt)
    raise TypeError(f"Input can either be a plain tensor or a keypoints tv_tensor, but got {type(inpt)} instead.")


def sanitize_keypoints(key_points, canvas_size=None):
    """Keep the point groups (along the first axis) whose points all lie inside the canvas;
    returns (kept points, boolean mask)."""
    if is_pure_tensor(key_points):
        if canvas_size is None:
            raise ValueError("canvas_size cannot be None if key_points is a pure tensor. Set it to an appropriate "
                             "value or pass key_points as a tv_tensors.KeyPoints object.")
    elif isinstance(key_points, KeyPoints):
        if canvas_size is not None:
            raise ValueError("canvas_size must be None when key_points is a tv_tensors.KeyPoints instance. Got "
                             f"canvas_size={canvas_size}. Leave it to None or pass key_points as a pure tensor.")
        canvas_size = key_points.canvas_size
    else:
        raise ValueError("key_points must be a tv_tensors.KeyPoints instance or a pure tensor.")
    arr = plain(key_points)._data
    height, width = canvas_size
    inside = (arr[..., 0] >= 0) & (arr[..., 0] < width) & (arr[..., 1] >= 0) & (arr[..., 1] < height)
    valid = inside.reshape(inside.shape[0], -1).all(axis=1) if inside.ndim > 1 else inside
    kept = Tensor._from_array(np.ascontiguousarray(arr[valid]))
    if isinstance(key_points, KeyPoints):
        kept = tv_tensors.wrap(kept, like=key_points)
    return kept, Tensor._from_array(valid)
