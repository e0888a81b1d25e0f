"""juanji.vision.io on Pillow: read/decode/encode/write, checked against Pillow's own decoding (torchvision's
io needs its compiled image extension, which the CUDA wheel cannot load here)."""

import numpy as np
import pytest
from PIL import Image

import juanji
from juanji.vision import io


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)
    paths = {}
    for name, mode, arr in (("rgb.png", "RGB", rgb), ("grey.png", "L", rgb[:, :, 0]),
                            ("rgba.png", "RGBA", np.dstack([rgb, rgb[:, :, :1]])), ("photo.jpg", "RGB", rgb)):
        paths[name] = tmp_path / name
        Image.fromarray(arr, mode).save(paths[name])
    palette = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    palette.save(tmp_path / "palette.png")
    paths["palette.png"] = tmp_path / "palette.png"
    return paths


@pytest.mark.parametrize("name, mode, channels", [("rgb.png", "UNCHANGED", 3), ("grey.png", "UNCHANGED", 1),
                                                  ("rgba.png", "UNCHANGED", 4), ("palette.png", "UNCHANGED", 3),
                                                  ("photo.jpg", "UNCHANGED", 3), ("rgb.png", "GRAY", 1),
                                                  ("grey.png", "RGB", 3), ("rgba.png", "RGB", 3),
                                                  ("rgb.png", "RGB_ALPHA", 4), ("rgba.png", "GRAY_ALPHA", 2)])
def test_read_image_channels_and_pixels_are_pillows(files, name, mode, channels):
    image = io.read_image(files[name], io.ImageReadMode[mode])
    assert image.dtype is juanji.uint8 and list(image.shape) == [channels, 9, 11]
    pil_mode = {"UNCHANGED": None, "GRAY": "L", "RGB": "RGB", "RGB_ALPHA": "RGBA", "GRAY_ALPHA": "LA"}[mode]
    with Image.open(files[name]) as picture:
        expected = picture.convert(pil_mode or ("RGB" if picture.mode == "P" else picture.mode))
        expected = np.asarray(expected)
    expected = expected[:, :, None] if expected.ndim == 2 else expected
    np.testing.assert_array_equal(image.numpy(), expected.transpose(2, 0, 1))
    np.testing.assert_array_equal(io.decode_image(io.read_file(files[name]), mode).numpy(), image.numpy())


def test_encode_and_write_round_trip(tmp_path):
    image = juanji.from_numpy(np.random.default_rng(1).integers(0, 256, (3, 6, 7), dtype=np.uint8))
    io.write_png(image, tmp_path / "x.png", compression_level=9)
    np.testing.assert_array_equal(io.read_image(tmp_path / "x.png").numpy(), image.numpy())   # PNG is lossless
    ys, xs = np.mgrid[0:16, 0:16]
    smooth = juanji.from_numpy(np.stack([ys * 12, xs * 12, ys * 6 + xs * 6]).astype(np.uint8))
    encoded = io.encode_jpeg(smooth, quality=95)
    assert encoded.dtype is juanji.uint8 and encoded.ndim == 1 and bytes(encoded.numpy()[:2]) == b"\xff\xd8"
    decoded = io.decode_jpeg(encoded)
    assert list(decoded.shape) == [3, 16, 16] and np.abs(decoded.numpy().astype(int) - smooth.numpy()).mean() < 3
    grey = io.decode_png(io.encode_png(image[:1]))
    np.testing.assert_array_equal(grey.numpy(), image.numpy()[:1])


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="read_image: no such file"):
        io.read_image(tmp_path / "none.png")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(RuntimeError, match="read_image: cannot decode"):
        io.read_image(tmp_path / "bad.png")
    with pytest.raises(ValueError, match=r"expected a uint8 image tensor \[1 or 3, H, W\], got juanji.float32"):
        io.encode_png(juanji.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="quality should be a positive number between 1 and 100"):
        io.encode_jpeg(juanji.zeros(3, 4, 4, dtype=juanji.uint8), quality=0)
    with pytest.raises(TypeError, match=r"expected the encoded bytes as a uint8 tensor \[N\]"):
        io.decode_image(juanji.zeros(3, 4))
