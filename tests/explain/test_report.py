"""juanji explain CHECKPOINT_OR_MODEL [--image]: four pictures for one image prepared as in training,
with the numbers they show computed by juanji (tested as numbers, not pixels)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import juanji
from juanji.checkpoint import load_checkpoint, model_from_checkpoint
from juanji.cli import EXIT_BAD_INPUT
from juanji.explain.effective_receptive_field import effective_receptive_field
from juanji.explain.saliency import saliency_map
from juanji.training.preprocess import Preprocessing
from juanji.vision.datasets import load_sample
from tests.training.test_eval_predict import trained  # noqa: F401 (the fixture)
from tests.training.test_run_habits import one_error_line, run_in_process


def test_explain_a_run_folder_with_an_image_of_another_size(capsys, trained, tmp_path):  # noqa: F811
    x, y = load_sample(train=False)
    Image.fromarray(x[7]).convert("RGB").resize((60, 60)).save(tmp_path / "photo.png")
    code, out, err = run_in_process(capsys, "explain", trained, "--image", tmp_path / "photo.png",
                                    "--out", tmp_path / "pictures")
    assert code == 0, err
    lines = dict(line.split(": ", 1) for line in out.strip().splitlines()[1:])
    assert lines["image"].startswith(f"{tmp_path / 'photo.png'} (60x60 RGB), prepared as the training images: "
                                     "grey 28x28")
    for what in ("kernels", "feature maps", "receptive field", "saliency"):
        with Image.open(lines[what]) as png:
            assert png.format == "PNG" and min(png.size) >= 250
    # the prediction printed is the model's on the image prepared as juanji predict prepares it
    payload = load_checkpoint(trained / "best.juanji")
    pre = Preprocessing.from_dict(payload["preprocessing"])
    with Image.open(tmp_path / "photo.png") as photo:
        batch = pre.apply(pre.prepare_image(photo, "photo")[None])
    model = model_from_checkpoint(payload).eval()
    probabilities = juanji.softmax(model(juanji.from_numpy(batch)), dim=1).detach().numpy()[0]
    best = int(probabilities.argmax())
    assert lines["predicted"] == f"{payload['classes'][best]} ({100 * probabilities[best]:.1f}%)"


def test_saliency_is_the_gradient_of_the_class_score():
    model = juanji.nn.Sequential(juanji.nn.Conv2d(2, 3, 3, padding=1), juanji.nn.ReLU(), juanji.nn.Flatten(),
                                 juanji.nn.Linear(3 * 5 * 5, 4))
    x = np.random.default_rng(0).standard_normal((2, 5, 5)).astype(np.float32)
    result = saliency_map(model, x, target=2)
    assert all(p.grad is None for p in model.parameters())   # the parameters are left alone
    leaf = juanji.from_numpy(x[None]).requires_grad_(True)
    model(leaf)[0, 2].backward()
    assert np.allclose(result.map, np.abs(leaf.grad.numpy()[0]).max(axis=0))
    assert result.target == 2 and np.isclose(result.probabilities.sum(), 1.0)
    assert saliency_map(model, x).target == int(model(juanji.from_numpy(x[None])).detach().numpy().argmax())


def test_the_erf_lies_inside_the_receptive_field_of_the_unit():
    model = juanji.nn.Sequential(juanji.nn.Conv2d(1, 2, 3), juanji.nn.Conv2d(2, 2, 3))
    field = effective_receptive_field(model, np.ones((1, 9, 9), dtype=np.float32), "1", position=(0, 0))
    assert field[:5, :5].any() and not field[5:, :].any() and not field[:, 5:].any()


def test_explain_a_zoo_model_and_its_errors(capsys, tmp_path):
    code, out, err = run_in_process(capsys, "explain", "cnnnet", "--out", tmp_path / "cnn")
    assert code == 0, err
    assert out.startswith("cnnnet\nimage: the Fashion-MNIST sample's test image 0 (a Shirt), prepared as the "
                          "training images: RGB 32x32")
    assert sorted(p.name for p in (tmp_path / "cnn").iterdir()) == ["feature_maps.png", "kernels.png",
                                                                     "receptive_field.png", "saliency.png"]
    code, _, err = run_in_process(capsys, "explain", "cnnnet", "--image", tmp_path / "none.png")
    assert code == EXIT_BAD_INPUT and f"image file '{tmp_path / 'none.png'}' does not exist" in one_error_line(err)
    code, _, err = run_in_process(capsys, "explain", "no_such_net")
    assert code == EXIT_BAD_INPUT and "unknown model 'no_such_net'" in one_error_line(err)
