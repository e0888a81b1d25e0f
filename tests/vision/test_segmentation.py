"""Semantic segmentation: the bilinear initialiser, the FCN models against plain-torch references,
the metrics against hand-computed confusion matrices, the embedded scenes, and VOC-layout folders."""

from __future__ import annotations

import hashlib
import importlib.resources

import numpy as np
import pytest
from PIL import Image

import juanji
from juanji import nn
from juanji.nn import init
from juanji.vision.datasets import scenes as S
from juanji.vision.datasets.voc import SegmentationDataError, SegmentationFolder, VOCSegmentation, voc_palette
from juanji.vision.metrics import SegmentationMetrics, confusion_matrix
from juanji.vision.models.segmentation import IntermediateLayerGetter, fcn8s_resnet18, fcn_resnet18_d2l
from juanji.vision.models import resnet18

torch = pytest.importorskip("torch")
tnn = torch.nn
from tests.vision.test_models import fast_init  # noqa: E402,F401  (the fixture: shapes-only model builds)


# =========================================================================== bilinear initialiser

def d2l_bilinear_weight(in_channels, out_channels, k):
    """The book's hand-written bilinear kernel, restated: a tent ``1 - |i - c| / f`` per axis with
    ``f = ceil(k / 2)`` and ``c = f - 1`` (odd k) or ``f - 0.5`` (even k), on the channel diagonal."""
    f = (k + 1) // 2
    c = f - 1 if k % 2 == 1 else f - 0.5
    rows, cols = np.ogrid[:k, :k]
    tent = (1 - np.abs(rows - c) / f) * (1 - np.abs(cols - c) / f)
    w = np.zeros((in_channels, out_channels, k, k))
    w[range(in_channels), range(out_channels)] = tent
    return w


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 8, 16, 64])
@pytest.mark.parametrize("channels", [1, 3, 21])
def test_bilinear_init_equals_the_d2l_formula(k, channels):
    w = juanji.empty(channels, channels, k, k)
    assert init.bilinear_(w) is w
    np.testing.assert_array_equal(w.numpy(), d2l_bilinear_weight(channels, channels, k).astype(np.float32))


def test_bilinear_init_1d_3d_depthwise_and_rectangular():
    w1 = init.bilinear_(juanji.empty(2, 2, 4, dtype=juanji.float64))
    np.testing.assert_array_equal(w1.numpy()[1, 1], [0.25, 0.75, 0.75, 0.25])
    assert w1.numpy()[0, 1].sum() == 0
    w3 = init.bilinear_(juanji.empty(1, 1, 3, 4, 2, dtype=juanji.float64)).numpy()[0, 0]
    np.testing.assert_allclose(w3, np.multiply.outer(np.multiply.outer(init.bilinear_kernel(3), init.bilinear_kernel(4)),
                                                     init.bilinear_kernel(2)))
    depthwise = init.bilinear_(juanji.empty(5, 1, 4, 4)).numpy()
    assert all(np.array_equal(depthwise[c, 0], depthwise[0, 0]) for c in range(5)) and depthwise.sum() > 0
    rect = init.bilinear_(juanji.empty(2, 4, 3, 3)).numpy()
    assert rect[0, 0].sum() > 0 and rect[1, 1].sum() > 0 and rect[0, 1].sum() == 0 and rect[:, 2:].sum() == 0
    with pytest.raises(ValueError, match=r"bilinear_: expected a transposed-convolution weight .* got shape \[3, 4\]"):
        init.bilinear_(juanji.empty(3, 4))


@pytest.mark.parametrize("factor", [2, 4])
def test_bilinear_transposed_convolution_upsamples_like_interpolate(factor):
    """Inside the map (away from the zero-padded border), the initialised layer is bilinear
    interpolation with align_corners=False, as torch's F.interpolate computes it."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 6, 6))
    up = nn.ConvTranspose2d(2, 2, kernel_size=2 * factor, stride=factor, padding=factor // 2, bias=False)
    up.double()
    init.bilinear_(up.weight)
    got = up(juanji.tensor(x)).detach().numpy()
    want = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=factor, mode="bilinear",
                                           align_corners=False).numpy()
    assert got.shape == want.shape
    inner = slice(factor, -factor)
    np.testing.assert_allclose(got[..., inner, inner], want[..., inner, inner], rtol=1e-12, atol=1e-12)


# =========================================================================== models

def ref_fcn_resnet18_d2l(num_classes):
    from tests.vision.test_models import RefBasicBlock, RefResNet
    body = RefResNet(RefBasicBlock, [2, 2, 2, 2])
    net = tnn.Sequential(*list(body.children())[:-2])
    net.add_module("final_conv", tnn.Conv2d(512, num_classes, kernel_size=1))
    net.add_module("transpose_conv", tnn.ConvTranspose2d(num_classes, num_classes, kernel_size=64, padding=16,
                                                         stride=32))
    with torch.no_grad():
        net.transpose_conv.weight.copy_(torch.tensor(d2l_bilinear_weight(num_classes, num_classes, 64)))
    return net


def test_fcn_resnet18_d2l_has_the_books_names_and_shapes():
    model, ref = fcn_resnet18_d2l(num_classes=21), ref_fcn_resnet18_d2l(21)
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in ref.state_dict().items()]
    np.testing.assert_array_equal(model.transpose_conv.weight.detach().numpy(),
                                  d2l_bilinear_weight(21, 21, 64).astype(np.float32))
    assert tuple(model(juanji.zeros(1, 3, 64, 96)).shape) == (1, 21, 64, 96)
    assert tuple(fcn_resnet18_d2l(num_classes=6, in_channels=1)(juanji.zeros(2, 1, 32, 32)).shape) == (2, 6, 32, 32)
    with pytest.raises(ValueError, match="fcn_resnet18_d2l: num_classes must be a positive int, got 0"):
        fcn_resnet18_d2l(num_classes=0)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fcn_resnet18_d2l_training_step_matches_torch(dtype):
    from tests.vision.test_models import _compare_step
    if dtype == "float32":  # the float32 comparison of a deep ReLU network: eval forward only (see test_models)
        j_model, t_model = fcn_resnet18_d2l(num_classes=5), ref_fcn_resnet18_d2l(5)
        _compare_step(j_model, t_model, (2, 3, 64, 64), dtype, with_grads=False)
    else:
        _compare_step(fcn_resnet18_d2l(num_classes=5), ref_fcn_resnet18_d2l(5), (2, 3, 64, 64), dtype)


class RefFCN8s(tnn.Module):
    def __init__(self, num_classes):
        super().__init__()
        from tests.vision.test_models import RefBasicBlock, RefResNet
        body = RefResNet(RefBasicBlock, [2, 2, 2, 2])
        self.backbone = tnn.ModuleDict(list(body.named_children())[:-2])
        self.score32 = tnn.Conv2d(512, num_classes, 1)
        self.score16 = tnn.Conv2d(256, num_classes, 1)
        self.score8 = tnn.Conv2d(128, num_classes, 1)
        self.up32 = tnn.ConvTranspose2d(num_classes, num_classes, 4, 2, 1, bias=False)
        self.up16 = tnn.ConvTranspose2d(num_classes, num_classes, 4, 2, 1, bias=False)
        self.up8 = tnn.ConvTranspose2d(num_classes, num_classes, 16, 8, 4, bias=False)

    def forward(self, x):
        taps = {}
        for name, layer in self.backbone.items():
            x = taps[name] = layer(x)
        out = self.up32(self.score32(taps["layer4"])) + self.score16(taps["layer3"])
        return self.up8(self.up16(out) + self.score8(taps["layer2"]))


def test_fcn8s_starts_bilinear_with_zero_skips_and_matches_torch():
    model = fcn8s_resnet18(num_classes=4)
    for up, k in ((model.up32, 4), (model.up16, 4), (model.up8, 16)):
        np.testing.assert_array_equal(up.weight.detach().numpy(), d2l_bilinear_weight(4, 4, k).astype(np.float32))
    assert not model.score16.weight.detach().numpy().any() and not model.score8.bias.detach().numpy().any()
    ref = RefFCN8s(4)
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in ref.state_dict().items()]
    from tests.vision.test_models import _compare_step
    _compare_step(model, ref, (2, 3, 64, 64), "float64")


def test_intermediate_layer_getter_returns_the_named_children_in_order():
    juanji.manual_seed(0)
    net = resnet18(num_classes=10)
    net.eval()
    getter = IntermediateLayerGetter(net, {"layer3": "aux", "layer4": "out"})
    assert list(getter.keys()) == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4"]
    assert all(k.split(".")[0] in getter for k in getter.state_dict())
    x = juanji.randn(1, 3, 64, 64)
    out = getter(x)
    assert list(out) == ["aux", "out"]
    with juanji.no_grad():
        h = net.maxpool(net.relu(net.bn1(net.conv1(x))))
        h3 = net.layer3(net.layer2(net.layer1(h)))
        np.testing.assert_array_equal(out["aux"].detach().numpy(), h3.numpy())
        np.testing.assert_array_equal(out["out"].detach().numpy(), net.layer4(h3).numpy())
    with pytest.raises(ValueError, match=r"return_layers \['layer9'\] are not children"):
        IntermediateLayerGetter(net, {"layer9": "out"})


# =========================================================================== metrics

def test_metrics_against_a_confusion_matrix_worked_by_hand():
    # 3 classes, one 3x4 image; 255 marks two pixels to ignore
    target = np.array([[0, 0, 1, 1],
                       [0, 2, 2, 255],
                       [1, 1, 2, 255]])
    pred = np.array([[0, 1, 1, 1],
                     [0, 2, 0, 2],
                     [1, 2, 2, 0]])
    # counted by hand over the 10 scored pixels: rows = true class, columns = predicted
    #   true 0: (0,0)->0 (0,1)->1 (1,0)->0          -> [2, 1, 0]
    #   true 1: (0,2)->1 (0,3)->1 (2,0)->1 (2,1)->2 -> [0, 3, 1]
    #   true 2: (1,1)->2 (1,2)->0 (2,2)->2          -> [1, 0, 2]
    hand = np.array([[2, 1, 0], [0, 3, 1], [1, 0, 2]])
    m = SegmentationMetrics(3, ignore_index=255, class_names=["bg", "a", "b"])
    m.update(juanji.tensor(pred), juanji.tensor(target))
    r = m.compute()
    np.testing.assert_array_equal(r["confusion"], hand)
    assert r["pixel_accuracy"] == pytest.approx(7 / 10)
    # IoU_c = TP / (row + column - TP)
    assert r["iou"] == pytest.approx([2 / (3 + 3 - 2), 3 / (4 + 4 - 3), 2 / (3 + 3 - 2)])
    assert r["class_accuracy"] == pytest.approx([2 / 3, 3 / 4, 2 / 3])
    assert r["mean_iou"] == pytest.approx(np.mean([0.5, 0.6, 0.5]))
    assert "mean IoU" in m.table() and "bg" in m.table()
    m.update(pred, target)  # accumulates
    np.testing.assert_array_equal(m.compute()["confusion"], 2 * hand)
    m.reset()
    assert m.compute()["confusion"].sum() == 0


def test_metrics_take_scores_skip_absent_classes_and_match_a_direct_count():
    rng = np.random.default_rng(1)
    scores = rng.standard_normal((2, 4, 5, 6))
    target = rng.integers(0, 3, (2, 5, 6))  # class 3 never occurs in the target
    m = SegmentationMetrics(4, ignore_index=None)
    m.update(juanji.tensor(scores), target)
    pred = scores.argmax(1)
    direct = np.zeros((4, 4), int)
    for t, p in zip(target.ravel(), pred.ravel()):
        direct[t, p] += 1
    np.testing.assert_array_equal(m.matrix, direct)
    empty = SegmentationMetrics(4)
    empty.update(np.zeros((1, 2, 2), int), np.zeros((1, 2, 2), int))
    r = empty.compute()
    assert r["iou"][0] == 1.0 and all(np.isnan(r["iou"][1:])) and r["mean_iou"] == 1.0


def test_metrics_errors_are_one_clear_line():
    m = SegmentationMetrics(3)
    with pytest.raises(ValueError, match=r"target labels must be in \[0, 2\] \(or the ignore label 255\), got 7"):
        m.update(np.zeros((2, 2), int), np.full((2, 2), 7))
    with pytest.raises(ValueError, match=r"the prediction \[2, 2\] and the target \[3, 3\] must have the same shape"):
        m.update(np.zeros((2, 2), int), np.zeros((3, 3), int))
    with pytest.raises(ValueError, match="scores have 5 classes in dim 1, expected 3"):
        m.update(np.zeros((1, 5, 2, 2)), np.zeros((1, 2, 2), int))
    with pytest.raises(TypeError, match="integer class indices"):
        confusion_matrix(np.zeros((2, 2)), np.zeros((2, 2), int), 3)
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        SegmentationMetrics(0)


# =========================================================================== the embedded scenes

def test_scenes_file_is_the_one_the_script_wrote_and_under_5_mb():
    raw = importlib.resources.files("juanji.vision").joinpath("data", S.SCENES_FILE).read_bytes()
    assert len(raw) < 5 * 1024 * 1024
    readme = importlib.resources.files("juanji.vision").joinpath("data", "README.md").read_text()
    assert hashlib.sha256(raw).hexdigest() in readme


def test_scenes_splits_shapes_and_labels():
    train, test = S.FashionScenes(train=True), S.FashionScenes(train=False)
    assert (len(train), len(test)) == (3000, 500)
    image, mask = test[0]
    assert image.mode == "RGB" and image.size == (96, 96) and mask.mode == "P" and mask.size == (96, 96)
    images, masks = S.load_scenes(train=False, size=64)
    assert images.shape == (500, 64, 64, 3) and masks.shape == (500, 64, 64)
    assert images.dtype == masks.dtype == np.uint8
    assert set(np.unique(masks)) == set(range(len(S.SCENE_CLASSES)))
    np.testing.assert_array_equal(np.asarray(test[7][1]), S.load_scenes(train=False)[1][7])
    assert "Split: Test" in repr(test)
    with pytest.raises(ValueError, match="size must be an int >= 8"):
        S.FashionScenes(size=4)
    with pytest.raises(IndexError, match="index 500 is out of range for 500 scenes"):
        test[500]


def test_scene_masks_are_exact():
    """Where the mask is background the pixel is the background's own; where it names a class,
    the pixel was drawn by a garment of that class (it differs from the background)."""
    split = S._split(False)
    for i in range(0, 500, 25):
        image, mask = S.render_scene(split["background"][i], split["noise"][i], split["object_index"][i],
                                     split["objects"][i], split["garments"], split["garment_labels"], 96)
        empty = np.full_like(split["object_index"][i], -1)
        background, nothing = S.render_scene(split["background"][i], split["noise"][i], empty, split["objects"][i],
                                             split["garments"], split["garment_labels"], 96)
        assert not nothing.any()
        np.testing.assert_array_equal(image[mask == 0], background[mask == 0])
        drawn = mask > 0
        assert drawn.any()
        same = np.all(image[drawn] == background[drawn], axis=-1)
        assert same.mean() < 0.02
        # every drawn class is the group of one of the scene's garments
        groups = {int(S.GARMENT_GROUP[split["garment_labels"][k]]) for k in split["object_index"][i] if k >= 0}
        assert set(np.unique(mask[drawn])) <= groups


def test_scenes_are_deterministic():
    a = S.render_scene(*(S._split(True)[k][5] for k in ("background", "noise", "object_index", "objects")),
                       S._split(True)["garments"], S._split(True)["garment_labels"], 80)
    b = S.render_scene(*(S._split(True)[k][5] for k in ("background", "noise", "object_index", "objects")),
                       S._split(True)["garments"], S._split(True)["garment_labels"], 80)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


# =========================================================================== VOC-layout folders

def _voc_folder(root, ids, size=(10, 8), year="2012", bad=None):
    base = root / "VOCdevkit" / f"VOC{year}"
    for sub in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    palette = voc_palette()
    masks = {}
    for n, name in enumerate(ids):
        w, h = size
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(base / "JPEGImages" / f"{name}.jpg")
        mask = rng.integers(0, 21, (h, w)).astype(np.uint8)
        mask[0, :] = 255  # a void border, as VOC draws around objects
        mask[:, -1] = 255
        if bad == name:
            mask = mask[:, :-2]
        img = Image.fromarray(mask, mode="P")
        img.putpalette(palette.reshape(-1).tolist())
        img.save(base / "SegmentationClass" / f"{name}.png")
        masks[name] = mask
    (base / "ImageSets" / "Segmentation" / "train.txt").write_text("\n".join(ids) + "\n")
    (base / "ImageSets" / "Segmentation" / "val.txt").write_text(ids[0] + "\n")
    return masks


def test_voc_segmentation_reads_the_voc_layout(tmp_path):
    masks = _voc_folder(tmp_path, ["2007_000032", "2007_000039", "2008_000001"])
    ds = VOCSegmentation(str(tmp_path), year="2012", image_set="train")
    assert len(ds) == 3 and len(VOCSegmentation(str(tmp_path), image_set="val")) == 1
    image, mask = ds[1]
    assert image.mode == "RGB" and image.size == (10, 8) and mask.mode == "P"
    np.testing.assert_array_equal(np.asarray(mask), masks["2007_000039"])
    assert np.asarray(mask)[0, 0] == 255
    assert ds.masks[0].endswith("SegmentationClass/2007_000032.png")
    seen = []
    ds = VOCSegmentation(str(tmp_path), transforms=lambda i, m: (seen.append((i.size, m.size)) or i, m))
    ds[0]
    assert seen == [((10, 8), (10, 8))]


def test_voc_segmentation_errors(tmp_path):
    with pytest.raises(ValueError, match=r"Unknown value '2013' for argument year"):
        VOCSegmentation(str(tmp_path), year="2013")
    with pytest.raises(ValueError, match=r"Unknown value 'test' for argument image_set"):
        VOCSegmentation(str(tmp_path), image_set="test")
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted.*VOCtrainval_11-May-2012.tar"):
        VOCSegmentation(str(tmp_path))
    _voc_folder(tmp_path, ["a", "b"], bad="b")
    ds = VOCSegmentation(str(tmp_path))
    ds[0]
    with pytest.raises(SegmentationDataError, match=r"the mask .*b.png is 8x8 but its image .*b.jpg is 10x8"):
        ds[1]


def test_segmentation_folder_pairs_images_with_masks(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for name, label in (("x", 1), ("y", 3)):
        Image.fromarray(np.zeros((6, 5, 3), np.uint8)).save(tmp_path / "images" / f"{name}.png")
        Image.fromarray(np.full((6, 5), label, np.uint8)).save(tmp_path / "masks" / f"{name}.png")
    ds = SegmentationFolder(str(tmp_path))
    assert len(ds) == 2 and ds.classes == ["class_0", "class_1", "class_2", "class_3"]
    assert np.asarray(ds[1][1]).max() == 3
    Image.fromarray(np.zeros((6, 5, 3), np.uint8)).save(tmp_path / "images" / "z.jpg")
    with pytest.raises(SegmentationDataError, match=r"the image .*z.jpg has no mask \(expected .*z.png\)"):
        SegmentationFolder(str(tmp_path))
    with pytest.raises(SegmentationDataError, match="must hold images/ and masks/ folders"):
        SegmentationFolder(str(tmp_path / "images"))


# =========================================================================== joint transforms (transforms.v2)

def _coordinate_sample(h=40, w=50):
    """An image whose channels are the row and column of each pixel (a linear ramp, which bilinear
    interpolation reproduces exactly), and a mask holding the column (mod 256)."""
    from juanji.vision import tv_tensors
    rows, cols = np.mgrid[:h, :w].astype(np.float32)
    image = tv_tensors.Image(juanji.tensor(np.stack([rows, cols])))
    mask = tv_tensors.Mask(juanji.tensor(cols.astype(np.int64)))
    return image, mask


@pytest.mark.parametrize("seed", range(6))
def test_joint_transforms_keep_image_and_mask_aligned(seed):
    """Random resized crop and flip through transforms.v2. The image is resampled bilinearly; on
    a ramp that gives the exact source column ``x = (i + 0.5) s - 0.5 + offset`` of output pixel
    i (s: source pixels per output pixel). The mask is resampled with torch's nearest, source
    column ``floor(i s + offset) = floor(x - (s - 1) / 2)``. So the mask must equal that, pixel
    for pixel; a mask one pixel off either way does not."""
    from juanji.vision.transforms import v2
    juanji.manual_seed(seed)
    transform = v2.Compose([v2.RandomResizedCrop((24, 30), scale=(0.3, 1.0), antialias=False),
                            v2.RandomHorizontalFlip(p=0.5)])
    image, mask = transform(*_coordinate_sample())
    columns, got = image.numpy()[1].astype(np.float64), mask.numpy()
    assert got.shape == columns.shape == (24, 30)
    step = np.abs(columns[0, 1] - columns[0, 0])
    source = columns - (step - 1) / 2

    def aligned(mask_columns):  # floor(source), allowing for rounding right at an integer
        return np.all((mask_columns == np.floor(source + 1e-4)) | (mask_columns == np.floor(source - 1e-4)))

    assert aligned(got)
    assert not aligned(got + 1) and not aligned(got - 1)  # the check can fail
    assert not aligned(np.roll(got, 1, axis=1))  # and moved by one pixel


def test_joint_nearest_transforms_are_exact_on_masks():
    from juanji.vision.transforms import v2
    juanji.manual_seed(3)
    nearest = v2.InterpolationMode.NEAREST
    image, mask = _coordinate_sample()
    transform = v2.Compose([v2.RandomCrop((32, 32)), v2.RandomVerticalFlip(p=1.0), v2.Resize((48, 48), nearest),
                            v2.RandomRotation(25, interpolation=nearest)])
    image_out, mask_out = transform(image, mask)
    inside = image_out.numpy()[0] > 0  # rotation fills the corners with 0 in both
    np.testing.assert_array_equal(image_out.numpy()[1][inside], mask_out.numpy()[inside])


# =========================================================================== torchvision's FCN models

@pytest.mark.parametrize("name, count", [("fcn_resnet50", 35_322_218), ("fcn_resnet101", 54_314_346)])
def test_fcn_resnets_have_torchvisions_keys_counts_and_outputs(name, count, fast_init):
    from juanji.vision.models import segmentation as seg
    from tests.vision.torchvision_ref import import_torchvision
    tv = import_torchvision()
    with torch.device("meta"):
        ref = getattr(tv.models.segmentation, name)(weights=None, weights_backbone=None, aux_loss=True)
    model = getattr(seg, name)(weights_backbone=None, aux_loss=True)
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in ref.state_dict().items()]
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in ref.parameters()) == count
    no_aux = getattr(seg, name)(weights_backbone=None, num_classes=7)
    assert no_aux.aux_classifier is None and no_aux.classifier[4].out_channels == 7
    weights = getattr(seg, name.replace("fcn_resnet", "FCN_ResNet") + "_Weights").DEFAULT
    tv_weights = getattr(tv.models.segmentation, name.replace("fcn_resnet", "FCN_ResNet") + "_Weights").DEFAULT
    assert weights.url == tv_weights.url and weights.meta["categories"] == tv_weights.meta["categories"]
    assert weights.meta["num_params"] == count and repr(weights.transforms()) == repr(tv_weights.transforms())
    with pytest.raises(ValueError, match="The parameter 'num_classes' expected value 21 but got 5 instead."):
        getattr(seg, name)(weights=weights, num_classes=5)


@pytest.mark.parametrize("aux", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_fcn_resnet50_training_step_matches_torchvision(aux):
    """Outputs (the dict's "out" and "aux"), the input gradient and every parameter gradient of
    one training-mode step with the same weights, float64, at a small input (dilated layers run
    at stride 8: a 32 x 32 image gives 4 x 4 maps in layer3 and layer4)."""
    from juanji.vision.models.segmentation import fcn_resnet50
    from tests.vision.test_models import _close, _copy_weights, _randomise_batch_norm
    from tests.vision.torchvision_ref import import_torchvision
    tv = import_torchvision()
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    ref = tv.models.segmentation.fcn_resnet50(weights=None, weights_backbone=None, aux_loss=aux, num_classes=4)
    model = fcn_resnet50(weights_backbone=None, aux_loss=aux, num_classes=4)
    _randomise_batch_norm(ref, rng)
    ref.double()
    model.double()
    _copy_weights(model, ref)
    for m in (*ref.modules(), *model.modules()):
        if type(m).__name__ == "Dropout":
            m.eval()
    x = rng.standard_normal((2, 3, 32, 32))
    jx, tx = juanji.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    j_out, t_out = model(jx), ref(tx)
    assert list(j_out) == list(t_out) == (["out", "aux"] if aux else ["out"])
    j_loss, t_loss = 0, 0
    for key in t_out:
        assert tuple(j_out[key].shape) == tuple(t_out[key].shape) == (2, 4, 32, 32)
        _close(j_out[key].detach().numpy(), t_out[key].detach().numpy(), key, "float64")
        g = rng.standard_normal((2, 4, 32, 32))
        j_loss = j_loss + (j_out[key] * juanji.tensor(g)).sum()
        t_loss = t_loss + (t_out[key] * torch.tensor(g)).sum()
    j_loss.backward()
    t_loss.backward()
    _close(jx.grad.numpy(), tx.grad.numpy(), "input gradient", "float64")
    params = dict(model.named_parameters())
    for name, p in ref.named_parameters():
        _close(params[name].grad.numpy(), p.grad.numpy(), f"gradient of {name}", "float64")


def test_semantic_segmentation_preset_matches_torchvision():
    from juanji.vision.models.segmentation import SemanticSegmentation
    from tests.vision.torchvision_ref import import_torchvision
    tv = import_torchvision()
    image = Image.fromarray(np.random.default_rng(2).integers(0, 256, (30, 44, 3), dtype=np.uint8))
    ours = SemanticSegmentation(resize_size=20)(image).numpy()
    theirs = tv.transforms._presets.SemanticSegmentation(resize_size=20)(image).numpy()
    assert ours.shape == theirs.shape == (3, 20, 29)
    np.testing.assert_allclose(ours, theirs, atol=2 / 255 / 0.224)  # Pillow vs torch resampling: a level or two
