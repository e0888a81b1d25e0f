"""``juanji train --weights NAME_OR_PATH [--freeze-backbone]`` (issue 10's command line): weights
written by torch in the test (a torchvision-style ResNet-18 state_dict; no network), a weights
name found in torch's cache, the preset applied to the data, a checkpoint that rebuilds without
the weights, exact resume, and one-line errors for weights that cannot be used."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from PIL import Image

import juanji
from juanji.checkpoint import load_checkpoint, model_from_checkpoint
from juanji.training.preprocess import fit_image
from juanji.vision.models.transfer import classifier_path
from tests.test_train import assert_same_run
from tests.training.test_run_habits import one_error_line, run_in_process

torch = pytest.importorskip("torch")

FAST = ["--no-progress", "--batch-size", "16", "--val-fraction", "0.2"]


def _image_folder(root, per_class=(16, 6), size=(40, 36)):
    """Two classes of RGB pictures (a bright blob top-left vs bottom-right, on noise), as PNGs in
    root/train/<class>/ and root/test/<class>/; seeded."""
    rng = np.random.default_rng(0)
    h, w = size
    for split, count in zip(("train", "test"), per_class):
        for label, name in enumerate(("left", "right")):
            os.makedirs(root / split / name, exist_ok=True)
            for i in range(count):
                image = rng.integers(0, 90, size=(h, w, 3), dtype=np.uint8)
                rows = slice(2, h // 2) if label == 0 else slice(h // 2, h - 2)
                cols = slice(2, w // 2) if label == 0 else slice(w // 2, w - 2)
                image[rows, cols] = rng.integers(180, 255, size=3, dtype=np.uint8)
                Image.fromarray(image).save(root / split / name / f"{i:03d}.png")
    return root


def _torch_resnet18_state(seed=0):
    """torchvision's ResNet-18 layout (plain torch, tests/vision/test_models.py), with batch-norm
    statistics that are not the defaults, as a torch state_dict."""
    from tests.vision.test_models import RefBasicBlock, RefResNet
    torch.manual_seed(seed)
    model = RefResNet(RefBasicBlock, [2, 2, 2, 2])
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return model.state_dict()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("pretrained")
    data = _image_folder(root / "shapes")
    state = _torch_resnet18_state()
    torch.save(state, root / "r18.pth")
    return {"root": root, "data": data, "pth": root / "r18.pth", "state": state}


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """Empty caches and a mirror that cannot serve anything: no file is found or downloaded."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.setenv("JUANJI_HOME", str(tmp_path / "juanji-home"))
    monkeypatch.setenv("JUANJI_WEIGHTS_MIRROR", (tmp_path / "no-mirror").as_uri())
    return tmp_path


def _train(capsys, files, out, *extra):
    return run_in_process(capsys, "train", "--model", "resnet18", "--data", files["data"], "--out", out, *FAST, *extra)


def _numpy(state):
    return {k: np.asarray(v.numpy() if hasattr(v, "numpy") else v) for k, v in state.items()}


def test_a_frozen_backbone_changes_only_the_new_head(capsys, files, offline):
    out = offline / "frozen"
    code, stdout, err = _train(capsys, files, out, "--weights", files["pth"], "--freeze-backbone",
                               "--image-size", "32", "32", "--epochs", "2", "--lr", "0.01")
    assert code == 0, err
    assert "fine-tuning from" in stdout and "with the backbone frozen" in stdout
    trained = _numpy(load_checkpoint(out / "last.juanji")["model_state"])
    given = {k: v.numpy() for k, v in files["state"].items() if not k.endswith("num_batches_tracked")}
    # the head the run started from: the same seed, the same construction
    from juanji.training.pretrained import build_pretrained, resolve_weights
    juanji.manual_seed(0)
    start, _ = build_pretrained("resnet18", resolve_weights("resnet18", str(files["pth"])), 2, 3, {}, True)
    initial = _numpy(start.state_dict())
    assert trained["fc.weight"].shape == (2, 512)
    changed = {k for k in trained if not np.array_equal(trained[k], initial[k])}
    assert changed == {"fc.weight", "fc.bias"}
    for key, value in given.items():
        if not key.startswith("fc."):   # every backbone weight and batch-norm statistic as torch wrote it
            np.testing.assert_array_equal(trained[key], value, err_msg=key)


def test_without_freezing_the_backbone_trains_too(capsys, files, offline):
    out = offline / "unfrozen"
    code, _, err = _train(capsys, files, out, "--weights", files["pth"], "--image-size", "32", "32", "--epochs", "1",
                          "--lr", "0.01")
    assert code == 0, err
    trained = _numpy(load_checkpoint(out / "last.juanji")["model_state"])
    assert not np.array_equal(trained["conv1.weight"], files["state"]["conv1.weight"].numpy())
    assert not np.array_equal(trained["layer4.1.bn2.running_mean"], files["state"]["layer4.1.bn2.running_mean"].numpy())


def test_a_weights_name_comes_from_torchs_cache_with_its_preset_and_the_checkpoint_needs_no_weights(
        capsys, files, offline, tmp_path):
    cache = offline / "torch-home" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    shutil.copy(files["pth"], cache / "resnet18-f37072fd.pth")   # torchvision's file name for IMAGENET1K_V1
    out = offline / "named"
    code, stdout, err = _train(capsys, files, out, "--weights", "ResNet18_Weights.IMAGENET1K_V1", "--freeze-backbone",
                               "--epochs", "1", "--train-samples", "12", "--test-samples", "4")
    assert code == 0, err
    assert "224x224 RGB (shorter side resized to 256, centre crop)" in stdout
    assert "mean (0.485, 0.456, 0.406) std (0.229, 0.224, 0.225)" in stdout
    payload = load_checkpoint(out / "best.juanji")
    assert payload["preprocessing"] == {"channels": 3, "height": 224, "width": 224, "pad": 0,
                                        "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225], "resize": 256}
    test_line = next(line for line in stdout.splitlines() if line.startswith("test accuracy"))
    # the weights are gone and nothing can be downloaded: the checkpoint still rebuilds and evaluates
    os.remove(cache / "resnet18-f37072fd.pth")
    model = model_from_checkpoint(out / "best.juanji")
    assert model.fc.out_features == 2
    code, stdout, err = run_in_process(capsys, "eval", out, "--no-progress", "--confusion", offline / "c.png")
    assert code == 0, err
    assert stdout.splitlines()[1].split("(")[0].strip() == test_line.split("(")[0].strip()


def test_the_preset_resizes_the_shorter_side_and_crops_the_centre():
    rng = np.random.default_rng(1)
    image = Image.fromarray(rng.integers(0, 256, size=(300, 400, 3), dtype=np.uint8))   # 400 wide, 300 high
    fitted = np.asarray(fit_image(image, 224, 224, resize=256))
    resized = np.asarray(image.resize((341, 256), Image.Resampling.BILINEAR))   # 400 * 256 / 300 = 341.3
    top, left = round((256 - 224) / 2), round((341 - 224) / 2)
    np.testing.assert_array_equal(fitted, resized[top:top + 224, left:left + 224])


def test_a_resumed_fine_tuning_run_is_exact_without_the_weights_file(capsys, files, offline):
    args = ["--freeze-backbone", "--image-size", "32", "32", "--lr", "0.01"]
    code, _, err = _train(capsys, files, offline / "whole", "--weights", files["pth"], "--epochs", "2", *args)
    assert code == 0, err
    copy = offline / "copy.pth"
    shutil.copy(files["pth"], copy)
    code, _, err = _train(capsys, files, offline / "parts", "--weights", copy, "--epochs", "1", *args)
    assert code == 0, err
    os.remove(copy)   # resuming rebuilds the model from the checkpoint's record
    code, _, err = run_in_process(capsys, "train", "--resume", offline / "parts", "--epochs", "2", "--no-progress")
    assert code == 0, err
    assert_same_run(offline / "whole", offline / "parts")


def test_a_juanji_checkpoint_and_a_safetensors_file_as_weights(capsys, tmp_path):
    small = ["--train-samples", "120", "--test-samples", "40", "--epochs", "1", "--no-progress"]
    code, _, err = run_in_process(capsys, "train", "--model", "lenet5", "--out", tmp_path / "first", *small)
    assert code == 0, err
    first = load_checkpoint(tmp_path / "first" / "best.juanji")
    code, stdout, err = run_in_process(capsys, "train", "--model", "lenet5", "--weights", tmp_path / "first",
                                       "--out", tmp_path / "second", "--seed", "3", *small)
    assert code == 0, err
    second = load_checkpoint(tmp_path / "second" / "best.juanji")
    assert second["preprocessing"] == first["preprocessing"]   # the checkpoint's own normalisation, not re-measured
    juanji.safetensors.save_file(first["model_state"], str(tmp_path / "w.safetensors"))
    code, _, err = run_in_process(capsys, "train", "--model", "lenet5", "--weights", tmp_path / "w.safetensors",
                                  "--freeze-backbone", "--out", tmp_path / "third", *small)
    assert code == 0, err
    third = _numpy(load_checkpoint(tmp_path / "third" / "last.juanji")["model_state"])
    head = classifier_path(juanji.vision.models.lenet5()) + "."   # its last Linear, kept (10 classes both)
    changed = {k for k, v in _numpy(first["model_state"]).items() if not np.array_equal(third[k], v)}
    assert changed == {head + "weight", head + "bias"}


@pytest.mark.parametrize("case", ["missing", "noise", "list", "other-architecture", "wrong-model", "name-offline",
                                  "unknown-name", "idx-data", "freeze-alone", "wrong-checkpoint-model"])
def test_weights_that_cannot_be_used_are_one_line_and_exit_2(capsys, files, offline, case):
    root = offline
    if case == "noise":
        (root / "noise.pth").write_bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes())
    if case == "list":
        torch.save([1, 2], root / "list.pth")
    if case == "other-architecture":
        from tests.vision.test_models import RefBasicBlock, RefResNet
        torch.save(RefResNet(RefBasicBlock, [3, 4, 6, 3]).state_dict(), root / "r34.pth")
    options = {
        "missing": (["--weights", root / "missing.pth"], "no such file"),
        "noise": (["--weights", root / "noise.pth"], "cannot read it as weights"),
        "list": (["--weights", root / "list.pth"], "expected a state_dict"),
        "other-architecture": (["--weights", root / "r34.pth"], "do not fit model 'resnet18': 80 key(s) unexpected"),
        "wrong-model": (["--model", "resnet50", "--weights", files["pth"]], "do not fit model 'resnet50'"),
        "name-offline": (["--weights", "DEFAULT"], "put the file resnet18-f37072fd.pth into"),
        "unknown-name": (["--weights", "IMAGENET9K"], "not a weights name of resnet18"),
        "idx-data": (["--weights", "DEFAULT", "--data", "sample"], "give an image folder"),
        "freeze-alone": (["--freeze-backbone"], "--freeze-backbone needs --weights"),
        "wrong-checkpoint-model": (["--model", "lenet5", "--weights", files["pth"]], "do not fit model 'lenet5'"),
    }[case]
    args, expected = options
    code, stdout, err = run_in_process(capsys, "train", "--model", "resnet18", "--data", files["data"],
                                       "--out", root / "run", *FAST, *args)
    assert code == 2
    assert expected in one_error_line(err), err
    assert not (root / "run").exists()
