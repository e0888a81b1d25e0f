"""Pictures: files are written, are PNGs of the size the grid asks for, with the grid the
docstrings promise; bad arguments get errors that name the function; the model is left as it
was; the effective receptive field stays inside the theoretical one."""

import numpy as np
import pytest

import juanji
from juanji import nn
from juanji.explain import chain_receptive_fields
from juanji.explain.effective_receptive_field import effective_receptive_field
from juanji.explain.pictures import (DPI, figure_inches, plot_feature_maps, plot_kernels,
                                     plot_receptive_field)

Image = pytest.importorskip("PIL.Image")


def _lenet():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Conv2d(6, 16, 5),
                         nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(), nn.Linear(400, 10))


def _image(shape=(1, 28, 28)):
    return juanji.from_numpy(np.linspace(0, 1, int(np.prod(shape)), dtype=np.float32).reshape(shape))


def _check_png(picture, rows, cols, size_inches=None):
    assert (picture.rows, picture.cols) == (rows, cols)
    with Image.open(picture.path) as image:
        assert image.format == "PNG"
        width, height = size_inches or figure_inches(rows, cols)
        assert image.size == (round(width * DPI), round(height * DPI))
        pixels = np.asarray(image.convert("L"))
    assert pixels.std() > 0   # something is drawn


@pytest.mark.parametrize("source, rows, cols", [
    (nn.Conv2d(1, 6, 5), 2, 3),          # one kernel per cell, ceil(sqrt(6)) = 3 columns
    (nn.Conv2d(1, 16, 3), 4, 4),
    (nn.Conv2d(3, 10, 3), 3, 4),         # RGB kernels: one colour image per output channel
    (nn.Conv2d(4, 5, 3), 5, 4),          # a row per output channel, a column per input channel
    (nn.Conv1d(2, 3, 7), 3, 2),          # 1-d kernels as strips
    (nn.ConvTranspose2d(1, 2, 3), 1, 2),
])
def test_plot_kernels_grid(tmp_path, source, rows, cols):
    _check_png(plot_kernels(source, tmp_path / "k.png"), rows, cols)


def test_plot_kernels_caps_the_grid_and_takes_models_and_arrays(tmp_path):
    _check_png(plot_kernels(nn.Conv2d(1, 100, 3), tmp_path / "a.png", max_kernels=10), 3, 4)
    _check_png(plot_kernels(nn.Conv2d(8, 8, 3), tmp_path / "b.png", max_kernels=16), 2, 8)
    # a model: its first convolution, found in named_modules() order
    picture = plot_kernels(_lenet(), tmp_path / "sub" / "c.png")   # folders are created
    _check_png(picture, 2, 3)
    _check_png(plot_kernels(np.ones((4, 1, 3, 3)), tmp_path / "d.png"), 2, 2)
    _check_png(plot_kernels(juanji.zeros(2, 1, 3, 3), tmp_path / "e.png"), 1, 2)   # all zero still draws a scale


def test_plot_kernels_errors(tmp_path):
    with pytest.raises(ValueError, match=r"plot_kernels: expected a Conv1d/Conv2d weight .* got a weight of shape "
                                         r"\[2, 1, 3, 3, 3\]"):
        plot_kernels(nn.Conv3d(1, 2, 3), tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"plot_kernels: Sequential has no convolution layer"):
        plot_kernels(nn.Sequential(nn.Linear(2, 2)), tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"plot_kernels: max_kernels must be a positive int, got 0"):
        plot_kernels(nn.Conv2d(1, 2, 3), tmp_path / "x.png", max_kernels=0)
    assert not (tmp_path / "x.png").exists()


def test_plot_feature_maps_grid(tmp_path):
    model = _lenet()
    picture = plot_feature_maps(model, _image(), ["0", "2", "3"], tmp_path / "f.png")
    _check_png(picture, 4, 16)   # input + 3 layers; 16 channels at most
    picture = plot_feature_maps(model, _image(), "0", tmp_path / "g.png", max_channels=4)
    _check_png(picture, 2, 4)
    # a vector output is one strip; images may come as arrays, [H, W] or [1, C, H, W]
    picture = plot_feature_maps(model, _image().numpy()[0], ["7"], tmp_path / "h.png")
    _check_png(picture, 2, 1)
    picture = plot_feature_maps(model, _image((1, 1, 28, 28)), ["5"], tmp_path / "i.png", max_channels=3)
    _check_png(picture, 2, 3)


def test_plot_feature_maps_leaves_the_model_as_it_was(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Dropout(0.5))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    plot_feature_maps(model, _image((1, 8, 8)), ["1", "2"], tmp_path / "f.png")
    assert model.training and model[1].training
    assert all(juanji.equal(before[k], v) for k, v in model.state_dict().items())
    assert not any(m._forward_hooks for m in model.modules())


def test_plot_feature_maps_errors(tmp_path):
    model = _lenet()
    with pytest.raises(ValueError, match=r"plot_feature_maps: Sequential has no layer named 'conv9'; "
                                         r"its layers are: 0, 1, 2, 3"):
        plot_feature_maps(model, _image(), ["0", "conv9"], tmp_path / "f.png")
    with pytest.raises(ValueError, match=r"plot_feature_maps: expected one image \[H, W\], \[C, H, W\] or "
                                         r"\[1, C, H, W\], got shape \[2, 1, 28, 28\]"):
        plot_feature_maps(model, juanji.zeros(2, 1, 28, 28), ["0"], tmp_path / "f.png")
    with pytest.raises(ValueError, match=r"plot_feature_maps: max_channels must be a positive int"):
        plot_feature_maps(model, _image(), ["0"], tmp_path / "f.png", max_channels=0)

    class Skips(nn.Module):
        def __init__(self):
            super().__init__()
            self.used = nn.Conv2d(1, 1, 3)
            self.unused = nn.Conv2d(1, 1, 3)

        def forward(self, x):
            return self.used(x)

    with pytest.raises(ValueError, match=r"plot_feature_maps: the forward pass of Skips did not call unused"):
        plot_feature_maps(Skips(), _image((1, 8, 8)), ["used", "unused"], tmp_path / "f.png")


def _positive(model):
    with juanji.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.fill_(0.1)
                m.bias.fill_(0.1)
    return model


def test_effective_receptive_field_fills_the_theoretical_one():
    model = _positive(nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2), nn.Conv2d(2, 2, 3)))
    field = chain_receptive_fields(model, (1, 16, 16))[-1].receptive_field
    strength = effective_receptive_field(model, _image((1, 16, 16)) + 1, "3", position=(2, 3))
    (top, bottom), (left, right) = field.bounds((2, 3))
    rows, cols = np.nonzero(strength)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (top, bottom, left, right)
    assert len(rows) == (bottom - top + 1) * (right - left + 1)
    assert all(p.grad is None for p in model.parameters())


def test_effective_receptive_field_defaults_to_the_centre_and_checks_the_position():
    model = _positive(nn.Sequential(nn.Conv2d(1, 1, 3)))
    strength = effective_receptive_field(model, _image((1, 9, 9)), "0")   # output 7x7, centre (3, 3)
    assert set(zip(*np.nonzero(strength))) == {(r, c) for r in range(3, 6) for c in range(3, 6)}
    with pytest.raises(ValueError, match=r"effective_receptive_field: position \(7, 0\) is outside the layer's "
                                         r"output, whose spatial size is \[7, 7\]"):
        effective_receptive_field(model, _image((1, 9, 9)), "0", position=(7, 0))


def test_plot_receptive_field(tmp_path):
    model = _lenet()
    picture = plot_receptive_field(model, _image(), "3", tmp_path / "r.png", position=(1, 2))
    assert (picture.rows, picture.cols) == (1, 2)
    with Image.open(picture.path) as image:
        assert image.format == "PNG" and image.size[0] > image.size[1]
    with pytest.raises(ValueError, match=r"plot_receptive_field: layer '7' \(Linear\) has no known 2-d receptive "
                                         r"field"):
        plot_receptive_field(model, _image(), "7", tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_pictures_leave_pyplot_alone(tmp_path):
    import sys

    import matplotlib

    def open_figures():
        pyplot = sys.modules.get("matplotlib.pyplot")
        return [] if pyplot is None else pyplot.get_fignums()

    backend = matplotlib.get_backend()
    before = open_figures()  # other tests in this process (d2l's ProgressBoard) may hold figures
    plot_kernels(nn.Conv2d(1, 2, 3), tmp_path / "k.png")
    assert matplotlib.get_backend() == backend
    assert open_figures() == before   # no figure of ours left in pyplot's registry
