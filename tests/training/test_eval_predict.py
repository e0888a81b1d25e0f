"""juanji eval (per-class accuracy, confusion matrix, image folders, run folders, class names) and
juanji predict (folders, globs, skipped files, the preprocessing stated, brightness warning, --invert)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from juanji.checkpoint import load_checkpoint, model_from_checkpoint
from juanji.cli import EXIT_BAD_INPUT
from juanji.training.confusion import confusion_matrix
from juanji.training.data import evaluation_loader, load_datasets
from juanji.training.preprocess import Preprocessing
from juanji.vision.datasets import load_sample
from tests.training.test_run_habits import SMALL, one_error_line, run_in_process


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A one-epoch LeNet run on the sample (its folder)."""
    from juanji.cli import main
    out = tmp_path_factory.mktemp("evalpredict") / "run"
    assert main(["train", "--epochs", "1", "--out", str(out), *SMALL]) == 0
    return out


def _independent_confusion(checkpoint, data="sample", **kwargs):
    """The confusion matrix computed here, from the model and the data directly."""
    payload = load_checkpoint(checkpoint)
    model = model_from_checkpoint(payload, checkpoint).eval()
    pre = Preprocessing.from_dict(payload["preprocessing"])
    datasets = load_datasets(data, preprocessing=pre, need_train=False, **kwargs)
    true, predicted = [], []
    for images, labels in evaluation_loader(datasets.test, 64):
        predicted.append(model(images).detach().numpy().argmax(axis=1))
        true.append(labels.numpy())
    return confusion_matrix(np.concatenate(true), np.concatenate(predicted), len(payload["classes"]))


def test_eval_prints_per_class_accuracy_and_the_confusion_matrix(capsys, trained, tmp_path):
    picture = tmp_path / "matrix.png"
    code, out, err = run_in_process(capsys, "eval", trained, "--confusion", picture, "--no-progress")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"{trained / 'best.juanji'} on the embedded Fashion-MNIST sample")
    expected = _independent_confusion(trained / "best.juanji", test_samples=60)
    classes = load_checkpoint(trained / "best.juanji")["classes"]
    start = lines.index("per-class accuracy:") + 1
    for t, line in enumerate(lines[start:start + len(classes)]):
        name, share, counts = line.split()[:-2], line.split()[-2], line.split()[-1]
        assert " ".join(name) == classes[t]
        assert counts == f"({expected[t, t]}/{expected[t].sum()})"
        if expected[t].sum():
            assert share == f"{100 * expected[t, t] / expected[t].sum():.1f}%"
    start = lines.index("confusion matrix (rows: true class, columns: predicted class):") + 2
    printed = np.array([[int(v) for v in line.split()[-len(classes):]] for line in lines[start:start + len(classes)]])
    assert np.array_equal(printed, expected) and printed.sum() == 60
    assert lines[-1] == f"confusion matrix: {picture}"
    with Image.open(picture) as image:
        assert image.format == "PNG" and min(image.size) >= 400


def test_eval_of_an_image_folder_converts_matches_classes_and_warns_about_names(capsys, trained, tmp_path):
    x, y = load_sample(train=False)
    classes = load_checkpoint(trained / "best.juanji")["classes"]
    folder = tmp_path / "photos"
    for label in (1, 8):   # Trouser and Bag, as 40x40 RGB photos
        (folder / classes[label]).mkdir(parents=True)
        for i in np.flatnonzero(y == label)[:5]:
            Image.fromarray(x[i]).convert("RGB").resize((40, 40)).save(folder / classes[label] / f"{i}.png")
    code, out, err = run_in_process(capsys, "eval", trained / "best.juanji", "--data", folder, "--no-progress",
                                    "--confusion", tmp_path / "c.png")
    assert code == 0 and err == ""                       # the names are the model's: labels follow them
    matrix = _independent_confusion(trained / "best.juanji", str(folder), image_size=[28, 28], channels=1,
                                    known_classes=classes, all_for_test=True)
    assert matrix[[1, 8]].sum() == 10 and matrix.sum() == 10   # a folder it was not trained on: all of it
    assert f"image folder {folder} (all 10 images)" in out
    assert f"({matrix[1, 1]}/{matrix[1].sum()})" in out and f"({matrix[8, 8]}/{matrix[8].sum()})" in out
    # folders named otherwise: compared by position, with a warning
    other = tmp_path / "other"
    for name in ("a", "b"):
        (other / name).mkdir(parents=True)
        for i in range(5):
            Image.fromarray(x[i]).save(other / name / f"{i}.png")
    code, out, err = run_in_process(capsys, "eval", trained, "--data", other, "--no-progress",
                                    "--confusion", tmp_path / "c2.png")
    assert code == 0
    assert err.startswith("warning: the data's class names are not the checkpoint's (0: 'a' vs 'T-shirt/top', "
                          "1: 'b' vs 'Trouser'; the data has 2 classes, the model 10): labels are compared by position")
    # a size that does not fit the model: one line with the way out
    code, _, err = run_in_process(capsys, "eval", trained, "--data", other, "--image-size", "32", "32")
    assert code == EXIT_BAD_INPUT
    assert "images are 32x32 with 1 channel(s), the model takes 28x28 grey; --image-size 28 28 --channels 1" \
        in one_error_line(err)


def _sample_images(tmp_path):
    x, y = load_sample(train=False)
    folder = tmp_path / "shots"
    (folder / "more").mkdir(parents=True)
    Image.fromarray(x[0]).save(folder / "one.png")
    Image.fromarray(x[1]).convert("RGB").resize((56, 56)).save(folder / "more" / "two.jpg")
    (folder / "more" / "broken.png").write_bytes(b"not a picture")
    return folder


def test_predict_takes_folders_and_globs_and_skips_an_unreadable_file(capsys, trained, tmp_path):
    folder = _sample_images(tmp_path)
    code, out, err = run_in_process(capsys, "predict", trained, folder, "--top-k", "2")
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0] == ("preprocessing as in training: 28x28 grey, normalised with the training mean "
                        f"{load_checkpoint(trained / 'best.juanji')['preprocessing']['mean'][0]:.4f} and std "
                        f"{load_checkpoint(trained / 'best.juanji')['preprocessing']['std'][0]:.4f}; 1 of 2 resized "
                        "(bilinear) from 56x56 (width x height); 1 converted to grey")
    assert [line.split(": ")[0] for line in lines[1:]] == [str(folder / "more" / "two.jpg"), str(folder / "one.png")]
    assert err.strip() == (f"warning: skipped: cannot read image file '{folder / 'more' / 'broken.png'}': "
                           f"cannot identify image file '{folder / 'more' / 'broken.png'}'")
    code, out, _ = run_in_process(capsys, "predict", trained, f"{folder}/**/*.jpg")
    assert code == 0 and out.strip().splitlines()[1].startswith(str(folder / "more" / "two.jpg"))
    code, _, err = run_in_process(capsys, "predict", trained, folder / "more" / "broken.png", tmp_path / "gone.png")
    assert code == EXIT_BAD_INPUT and "none of the 2 images could be read" in err.strip().splitlines()[-1]
    code, _, err = run_in_process(capsys, "predict", trained, f"{tmp_path}/*.gif")
    assert code == EXIT_BAD_INPUT and f"no file matches '{tmp_path}/*.gif'" in one_error_line(err)


def test_an_inverted_image_is_flagged_and_invert_undoes_it(capsys, trained, tmp_path):
    x, _ = load_sample(train=False)
    Image.fromarray(x[3]).save(tmp_path / "as_trained.png")
    Image.fromarray(255 - x[3]).save(tmp_path / "dark_on_light.png")
    code, plain, err = run_in_process(capsys, "predict", trained, tmp_path / "as_trained.png", "--top-k", "10")
    assert code == 0 and err == ""
    code, _, err = run_in_process(capsys, "predict", trained, tmp_path / "dark_on_light.png")
    assert code == 0
    assert f"warning: {tmp_path / 'dark_on_light.png'}: mean brightness" in err and "try --invert" in err
    code, inverted, err = run_in_process(capsys, "predict", trained, tmp_path / "dark_on_light.png", "--invert",
                                         "--top-k", "10")
    assert code == 0 and err == ""
    assert "all inverted (--invert)" in inverted.splitlines()[0]
    # inverting the inverted image gives the trained-on pixels back: the same probabilities
    assert inverted.splitlines()[1].split(": ")[1] == plain.splitlines()[1].split(": ")[1]
