"""``juanji train --task segmentation`` and eval / predict on its checkpoints, exact resume, and
every kind of bad segmentation input (one line on stderr, exit status 2, nothing saved lost).

Runs are tiny: 16x16 or 32x32 images, a few dozen of them, one or two epochs. Most use a small
stand-in network (conv, batch norm, dropout, 1x1 scores, a transposed convolution back to the
input's size) registered as a segmentation model; one runs the real fcn_resnet18_d2l.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import juanji
from juanji import nn
from juanji.checkpoint import load_checkpoint
from juanji.training import TrainConfig, train
from juanji.vision import models
from juanji.vision.datasets.voc import voc_palette
from tests.test_cli import assert_bad_input, run_cli, snapshot
from tests.test_train import _resume_from_snapshot, assert_same_run, checkpoint_snapshots  # noqa: F401

TINY = ["--task", "segmentation", "--batch-size", "8", "--no-progress", "--epochs", "1"]


class TinySegNet(nn.Sequential):
    """conv (stride 2) - batch norm - relu - dropout - 1x1 class scores - transposed conv x2."""

    def __init__(self, num_classes=6, in_channels=3):
        super().__init__(nn.Conv2d(in_channels, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Dropout(0.2), nn.Conv2d(4, num_classes, 1),
                         nn.ConvTranspose2d(num_classes, num_classes, 4, stride=2, padding=1))


@pytest.fixture
def tiny_seg(monkeypatch):
    """``get_model('tinyseg')`` builds :class:`TinySegNet`, known to the command as a segmentation model."""
    from juanji.training import tasks
    original_get, original_list = models.get_model, models.list_models
    monkeypatch.setattr(models, "get_model",
                        lambda name, **kw: TinySegNet(**kw) if name == "tinyseg" else original_get(name, **kw))
    monkeypatch.setattr(models, "list_models", lambda: sorted([*original_list(), "tinyseg"]))
    original_is = tasks.is_segmentation_model
    monkeypatch.setattr(tasks, "is_segmentation_model", lambda name: name == "tinyseg" or original_is(name))
    return "tinyseg"


def write_pairs(folder, count=10, size=(16, 16), classes=3, seed=0, mode="P"):
    """``folder/images/NNN.png`` (RGB) and ``folder/masks/NNN.png``: a bright square of class
    1..classes-1 on background 0, its border marked 255 (void)."""
    rng = np.random.default_rng(seed)
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    h, w = size
    for i in range(count):
        image = rng.integers(0, 60, (h, w, 3), dtype=np.uint8)
        mask = np.zeros((h, w), np.uint8)
        top, left = rng.integers(0, h // 2), rng.integers(0, w // 2)
        label = 1 + i % (classes - 1)
        image[top:top + h // 2, left:left + w // 2] = 200 if label == 1 else 120
        mask[top:top + h // 2, left:left + w // 2] = label
        mask[top, left:left + w // 2] = 255
        Image.fromarray(image).save(folder / "images" / f"{i:03d}.png")
        m = Image.frombytes("P", (w, h), mask.tobytes()) if mode == "P" else Image.fromarray(mask)
        if mode == "P":
            m.putpalette(voc_palette().reshape(-1).tolist())
        m.save(folder / "masks" / f"{i:03d}.png")
    return folder


# ---------------------------------------------------------------------------------- the loss
def test_task_loss_and_counts_match_torch_per_pixel_cross_entropy_with_ignore_index():
    torch = pytest.importorskip("torch")
    from juanji.training.tasks import get_task
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((2, 4, 5, 6))
    labels = rng.integers(0, 4, (2, 5, 6))
    labels[0, 0, :3] = 255
    task = get_task("segmentation")
    x = juanji.tensor(scores, requires_grad=True)
    loss = task.loss(x, juanji.tensor(labels))
    loss.backward()
    tx = torch.tensor(scores, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(tx, torch.tensor(labels), ignore_index=255)
    expected.backward()
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-14)
    # the aux head of torchvision's FCN counts half
    aux = rng.standard_normal((2, 4, 5, 6))
    both = task.loss({"out": juanji.tensor(scores), "aux": juanji.tensor(aux)}, juanji.tensor(labels))
    expected_aux = torch.nn.functional.cross_entropy(torch.tensor(aux), torch.tensor(labels), ignore_index=255)
    np.testing.assert_allclose(both.item(), expected.item() + 0.5 * expected_aux.item(), rtol=1e-12)
    right, counted = task.counts(juanji.tensor(scores), juanji.tensor(labels))
    assert counted == 2 * 5 * 6 - 3
    assert right == int(((scores.argmax(1) == labels) & (labels != 255)).sum())


# ---------------------------------------------------------------------------------- end to end
def test_fcn_resnet18_d2l_trains_on_the_scenes_then_eval_and_predict(capsys, tmp_path):
    out = tmp_path / "run"
    code, stdout, err = run_cli(capsys, "train", *TINY, "--model", "fcn_resnet18_d2l", "--image-size", "32", "32",
                                "--train-samples", "16", "--test-samples", "6", "--val-fraction", "0.25",
                                "--optimizer", "adam", "--out", out)
    assert code == 0, err
    assert "FashionScenes (32x32)" in stdout and "mIoU" in stdout
    payload = load_checkpoint(out / "best.juanji")
    assert payload["config"]["task"] == "segmentation" and payload["config"]["data"] == "scenes"
    test_miou = float(stdout.split("test mIoU: ")[1].split("%")[0])

    code, stdout, err = run_cli(capsys, "eval", out, "--no-progress")
    assert code == 0, err
    assert f"mean IoU: {test_miou:.2f}%" in stdout
    for name in ("background", "top", "trouser", "dress", "footwear", "bag"):
        assert f"  {name} " in stdout
    assert (out / "confusion.png").exists()

    # predict: the mask PNG holds, pixel for pixel, the arg-max of the model's scores
    from juanji.training.inference import load_trained_model
    from juanji.vision.datasets.scenes import load_scenes
    images, _ = load_scenes(train=False, size=32)
    Image.fromarray(images[0]).save(tmp_path / "scene.png")
    code, stdout, err = run_cli(capsys, "predict", out / "best.juanji", tmp_path / "scene.png",
                                "--out", tmp_path / "pred")
    assert code == 0, err
    mask_file, overlay_file = tmp_path / "pred" / "scene-mask.png", tmp_path / "pred" / "scene-overlay.png"
    assert f"mask: {mask_file}" in stdout and f"overlay: {overlay_file}" in stdout
    _, model, pre, _ = load_trained_model(str(out / "best.juanji"))
    with juanji.no_grad():
        expected = model(juanji.tensor(pre.apply(images[:1]))).numpy()[0].argmax(0)
    with Image.open(mask_file) as m:
        assert m.mode == "P" and m.size == (32, 32)
        np.testing.assert_array_equal(np.asarray(m), expected)
    with Image.open(overlay_file) as o:
        assert o.format == "PNG"


def test_a_mask_folder_trains_with_its_class_names_and_a_larger_image_is_predicted_at_its_size(
        capsys, tmp_path, tiny_seg):
    data = write_pairs(tmp_path / "data", count=10)
    (data / "classes.txt").write_text("sky\nsquare\nother\n")
    out = tmp_path / "run"
    code, stdout, err = run_cli(capsys, "train", *TINY, "--model", tiny_seg, "--data", data, "--out", out)
    assert code == 0, err
    assert "3 classes" in stdout
    assert load_checkpoint(out / "last.juanji")["classes"] == ["sky", "square", "other"]
    code, stdout, err = run_cli(capsys, "eval", out, "--no-progress")
    assert code == 0, err
    assert "  square " in stdout and "labelled pixels" in stdout
    big = tmp_path / "big.jpg"
    Image.new("RGB", (40, 24), (200, 200, 200)).save(big)
    code, stdout, err = run_cli(capsys, "predict", out, big)
    assert code == 0, err
    with Image.open(out / "predictions" / "big-mask.png") as m:
        assert m.size == (40, 24) and set(np.unique(np.asarray(m))) <= {0, 1, 2}
    # explain: the last transposed convolution's input, kernel and output, from the scenes' test scene
    code, stdout, err = run_cli(capsys, "explain", out, "--image", data / "images" / "000.png")
    assert code == 0, err
    assert "upsampling: " in stdout and "8x8 -> 16x16 (stride 2)" in stdout
    with Image.open(out / "explain" / "upsampling.png") as picture:
        assert picture.format == "PNG" and picture.size == (1200, 840)


def test_image_size_resizes_masks_by_nearest_neighbour(tmp_path):
    from juanji.training.segmentation_data import load_segmentation_datasets
    data = write_pairs(tmp_path / "data", count=6, size=(16, 16))
    d = load_segmentation_datasets(str(data), image_size=[24, 20], val_fraction=0)
    assert d.test.images.shape[1:] == (24, 20, 3) and d.test.masks.shape[1:] == (24, 20)
    # labels are never blended: only the values of the masks appear
    assert set(np.unique(np.concatenate([d.train.masks.ravel(), d.test.masks.ravel()]))) <= {0, 1, 2, 255}
    images, masks = d.test[[0]]
    assert list(images.shape) == [1, 3, 24, 20] and masks.dtype == juanji.int64


# ---------------------------------------------------------------------------------- exact resume
def test_segmentation_resume_mid_epoch_is_bit_identical(tmp_path, tiny_seg, checkpoint_snapshots):  # noqa: F811
    def config(out):
        return TrainConfig(task="segmentation", model=tiny_seg, data="scenes", image_size=[16, 16], epochs=2,
                           batch_size=8, train_samples=40, test_samples=8, optimizer="adam", scheduler="onecycle",
                           lr=0.01, out=None if out is None else str(out), checkpoint_every=3, log_every=1,
                           progress=False)
    reference = train(config(tmp_path / "reference"), callbacks=[checkpoint_snapshots])
    # 36 training scenes (4 held out), 5 batches per epoch; step 6 is the 1st batch of epoch 2
    snapshot_file = checkpoint_snapshots[6]
    assert load_checkpoint(snapshot_file)["progress"] == {"epoch": 1, "step_in_epoch": 1, "global_step": 6}
    resumed = _resume_from_snapshot(snapshot_file, tmp_path / "reference", tmp_path / "resumed", config(None))
    assert_same_run(tmp_path / "reference", tmp_path / "resumed")
    assert resumed.task == "segmentation"
    assert (resumed.test.mean_iou, resumed.test.accuracy, resumed.test.loss) == \
        (reference.test.mean_iou, reference.test.accuracy, reference.test.loss)
    assert 0 <= reference.best_accuracy <= 1 and reference.test.pixels == 8 * 16 * 16


# ---------------------------------------------------------------------------------- bad input
def test_a_mask_of_another_size_than_its_image(capsys, tmp_path, tiny_seg):
    data = write_pairs(tmp_path / "data", count=6)
    Image.new("L", (12, 16)).save(data / "masks" / "003.png")
    line = assert_bad_input(capsys, "train", *TINY, "--model", tiny_seg, "--data", data, "--out", tmp_path / "run",
                            match="003.png is 12x16 but its image")
    assert "16x16" in line
    assert not (tmp_path / "run").exists()


def test_a_label_outside_the_classes(capsys, tmp_path, tiny_seg):
    data = write_pairs(tmp_path / "data", count=6)
    (data / "classes.txt").write_text("background\nsquare\nother\n")
    mask = np.zeros((16, 16), np.uint8)
    mask[4, 4] = 7
    Image.fromarray(mask).save(data / "masks" / "002.png")
    assert_bad_input(capsys, "train", *TINY, "--model", tiny_seg, "--data", data, "--out", tmp_path / "run",
                     match="002.png has label 7, outside the 3 classes 0..2 (255 = ignore)")


def test_a_voc_root_with_a_label_outside_its_21_classes(capsys, tmp_path, tiny_seg):
    voc = tmp_path / "voc" / "VOCdevkit" / "VOC2012"
    for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (voc / sub).mkdir(parents=True)
    for split, names in (("train", ["a", "b"]), ("val", ["c"])):
        (voc / "ImageSets" / "Segmentation" / f"{split}.txt").write_text("\n".join(names) + "\n")
        for n in names:
            Image.new("RGB", (16, 16), (90, 20, 20)).save(voc / "JPEGImages" / f"{n}.jpg")
            mask = np.zeros((16, 16), np.uint8)
            mask[0] = 255
            mask[5, 5] = 30 if n == "b" else 15
            Image.fromarray(mask).save(voc / "SegmentationClass" / f"{n}.png")
    assert_bad_input(capsys, "train", *TINY, "--model", tiny_seg, "--data", tmp_path / "voc", "--out",
                     tmp_path / "run", match="b.png has label 30, outside the 21 classes")


def test_an_image_folder_without_masks(capsys, tmp_path, tiny_seg):
    data = write_pairs(tmp_path / "data", count=4)
    (data / "masks" / "001.png").unlink()
    assert_bad_input(capsys, "train", *TINY, "--model", tiny_seg, "--data", data, "--out", tmp_path / "run",
                     match="001.png has no mask (expected")
    for mask in (data / "masks").iterdir():
        mask.unlink()
    (data / "masks").rmdir()
    assert_bad_input(capsys, "train", *TINY, "--model", tiny_seg, "--data", data, "--out", tmp_path / "run",
                     match="must hold images/ and masks/ folders")
    # a classification tree (one folder per class) is not segmentation data
    (tmp_path / "classes" / "cat").mkdir(parents=True)
    Image.new("RGB", (16, 16)).save(tmp_path / "classes" / "cat" / "1.png")
    assert_bad_input(capsys, "train", *TINY, "--model", tiny_seg, "--data", tmp_path / "classes", "--out",
                     tmp_path / "run", match="not segmentation data: expected images/ and masks/")


def test_the_task_and_the_model_must_agree(capsys, tmp_path):
    assert_bad_input(capsys, "train", *TINY, "--model", "lenet5", "--out", tmp_path / "a",
                     match="--task segmentation: model 'lenet5' is not a segmentation model")
    assert_bad_input(capsys, "train", "--model", "fcn_resnet18_d2l", "--no-progress", "--out", tmp_path / "b",
                     match="model 'fcn_resnet18_d2l' is a segmentation model (a class per pixel); train it with "
                           "--task segmentation")
    assert_bad_input(capsys, "train", *TINY, "--model", "fcn_resnet18_d2l", "--image-size", "40", "40",
                     "--train-samples", "8", "--test-samples", "2", "--out", tmp_path / "c",
                     match="multiple of 32")
    assert_bad_input(capsys, "train", *TINY, "--model", "fcn_resnet18_d2l", "--channels", "1", "--out", tmp_path / "d",
                     match="the models take RGB images; --channels 1")
    assert not any((tmp_path / name).exists() for name in "abcd")


def test_bad_input_leaves_a_segmentation_run_as_it_was(capsys, tmp_path, tiny_seg):
    data = write_pairs(tmp_path / "data", count=12)
    out = tmp_path / "run"
    code, _, err = run_cli(capsys, "train", *TINY, "--model", tiny_seg, "--data", data, "--out", out)
    assert code == 0, err
    before = snapshot(out)
    assert_bad_input(capsys, "train", *TINY, "--model", tiny_seg, "--data", data, "--out", out,
                     match="already holds a run")
    assert_bad_input(capsys, "train", "--resume", out, "--task", "classification",
                     match="--task classification differs from the checkpoint's segmentation")
    Image.new("L", (9, 9)).save(data / "masks" / "000.png")   # the data went bad since
    assert_bad_input(capsys, "train", "--resume", out, "--epochs", "2", match="000.png is 9x9 but its image")
    assert_bad_input(capsys, "eval", out, "--no-progress", match="000.png is 9x9 but its image")
    assert snapshot(out) == before
