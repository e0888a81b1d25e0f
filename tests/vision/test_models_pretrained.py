"""The new zoo members against plain-torch references (state_dict keys, shapes, order, parameter
counts, eval outputs with the same weights), and pretrained weights torchvision's way: weights
enums with torchvision's file names, URLs, hash prefixes, categories and presets; files found in
torchvision's cache with no download, downloaded from a local HTTP server or a file:// mirror
with the hash checked, the offline error naming the file and the folder. No network is used."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import threading

import numpy as np
import pytest

import juanji
from juanji import hub
from juanji.vision import models

torch = pytest.importorskip("torch")
from tests.vision import reference_models as refs  # noqa: E402  (needs torch)
from tests.vision.test_models import fast_init  # noqa: E402,F401  (a fixture: skip juanji's random init)

NEW_MODELS = {
    # name: (juanji builder kwargs, torch reference, torchvision's parameter count)
    "resnext50_32x4d": (dict(), lambda: refs.RefResNetX([3, 4, 6, 3], groups=32, width_per_group=4), 25_028_904),
    "wide_resnet50_2": (dict(), lambda: refs.RefResNetX([3, 4, 6, 3], width_per_group=128), 68_883_240),
    "resnet101": (dict(), lambda: refs.RefResNetX([3, 4, 23, 3]), 44_549_160),
    "mobilenet_v2": (dict(), refs.RefMobileNetV2, 3_504_872),
    "squeezenet1_1": (dict(), lambda: refs.RefSqueezeNet("1_1"), 1_235_496),
    "squeezenet1_0": (dict(), lambda: refs.RefSqueezeNet("1_0"), 1_248_424),
}


@pytest.mark.parametrize("name", sorted(NEW_MODELS))
def test_new_models_have_torchvisions_state_dict_and_parameter_count(name, fast_init):
    kwargs, ref, count = NEW_MODELS[name]
    j_model, t_model = models.get_model(name, **kwargs), ref()
    j_state, t_state = j_model.state_dict(), t_model.state_dict()
    assert list(j_state) == list(t_state)
    assert [tuple(v.shape) for v in j_state.values()] == [tuple(v.shape) for v in t_state.values()]
    assert sum(p.numel() for p in j_model.parameters()) == count == sum(p.numel() for p in t_model.parameters())
    assert models.get_model_weights(name).DEFAULT.meta["num_params"] == count


def _eval_outputs_match(j_model, t_model, shape, rtol=1e-4):
    refs.randomise_batch_norm(t_model)
    j_model.load_state_dict(t_model.state_dict())
    j_model.eval(), t_model.eval()
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    with torch.no_grad():
        expected = t_model(torch.from_numpy(x)).numpy()
    out = j_model(juanji.tensor(x)).detach().numpy()
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=1e-4 * np.abs(expected).max())


@pytest.mark.parametrize("name, shape", [("mobilenet_v2", (2, 3, 64, 64)), ("squeezenet1_1", (2, 3, 64, 64)),
                                         ("squeezenet1_0", (1, 3, 64, 64)), ("resnext50_32x4d", (1, 3, 64, 64))])
def test_new_models_give_torchs_outputs_with_the_same_weights(name, shape):
    _, ref, _ = NEW_MODELS[name]
    _eval_outputs_match(models.get_model(name), ref(), shape)


def test_resnet_takes_torchvisions_full_signature_with_dilation():
    import inspect
    params = list(inspect.signature(models.ResNet).parameters)
    assert params[:8] == ["block", "layers", "num_classes", "zero_init_residual", "groups", "width_per_group",
                          "replace_stride_with_dilation", "norm_layer"]
    j_model = models.resnet50(replace_stride_with_dilation=[False, True, True])
    t_model = refs.RefResNetX([3, 4, 6, 3], replace_stride_with_dilation=[False, True, True])
    assert list(j_model.state_dict()) == list(t_model.state_dict())
    assert j_model.layer4[1].conv2.dilation == (4, 4) and j_model.layer3[0].conv2.stride == (1, 1)
    _eval_outputs_match(j_model, t_model, (1, 3, 64, 64))
    feats = juanji.nn.Sequential(*list(j_model.children())[:-2])  # an FCN backbone: output stride 8
    assert tuple(feats(juanji.zeros(1, 3, 64, 64)).shape) == (1, 2048, 8, 8)
    with pytest.raises(ValueError, match="replace_stride_with_dilation should be None or a 3-element tuple"):
        models.resnet50(replace_stride_with_dilation=[True])
    with pytest.raises(NotImplementedError, match="Dilation > 1 not supported in BasicBlock"):
        models.resnet18(replace_stride_with_dilation=[False, False, True])
    with pytest.raises(ValueError, match="BasicBlock only supports groups=1 and base_width=64"):
        models.resnet18(groups=2)


# -- weights enums ----------------------------------------------------------------------------------

ALL_WITH_WEIGHTS = ["alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
                    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d",
                    "resnext101_32x8d", "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2", "googlenet",
                    "densenet121", "densenet161", "densenet169", "densenet201", "mobilenet_v2", "squeezenet1_0",
                    "squeezenet1_1"]


@pytest.mark.parametrize("name", ALL_WITH_WEIGHTS)
def test_every_imagenet_model_has_a_weights_enum_like_torchvisions(name):
    import inspect
    enum_cls = models.get_model_weights(name)
    builder = getattr(models, name)
    sig = inspect.signature(builder).parameters
    assert sig["weights"].default is None and sig["progress"].default is True
    default = enum_cls.DEFAULT
    assert default.url == "https://download.pytorch.org/models/" + default.file_name
    assert hub.HASH_REGEX.search(default.file_name)  # the SHA-256 prefix is in the name
    assert len(default.meta["categories"]) == 1000 and default.meta["categories"][0] == "tench"
    preset = default.transforms()
    assert preset.crop_size == [224] and preset.resize_size in ([256], [232])
    assert enum_cls.verify("DEFAULT") is default and enum_cls.verify(f"{enum_cls.__name__}.DEFAULT") is default
    assert models.get_weight(f"{enum_cls.__name__}.{default.name}") is default


def test_torchvisions_file_names_and_defaults():
    assert models.ResNet18_Weights.IMAGENET1K_V1.file_name == "resnet18-f37072fd.pth"
    assert models.ResNet50_Weights.DEFAULT is models.ResNet50_Weights.IMAGENET1K_V2
    assert models.ResNet50_Weights.DEFAULT.file_name == "resnet50-11ad3fa6.pth"
    assert models.ResNet50_Weights.DEFAULT.transforms().resize_size == [232]
    assert models.MobileNet_V2_Weights.IMAGENET1K_V1.file_name == "mobilenet_v2-b0353104.pth"
    assert models.SqueezeNet1_1_Weights.DEFAULT.file_name == "squeezenet1_1-b8a52dc0.pth"
    assert models.AlexNet_Weights.DEFAULT.meta["_metrics"]["ImageNet-1K"]["acc@1"] == 56.522
    with pytest.raises(ValueError, match="expected None, a ResNet18_Weights member"):
        models.resnet18(weights="IMAGENET1K_V9")
    with pytest.raises(ValueError, match="'num_classes' expected value 1000 but got 10"):
        models.resnet18(weights=models.ResNet18_Weights.DEFAULT, num_classes=10)


def test_the_preset_transforms_a_pil_image_as_torchvisions_recipe():
    from PIL import Image
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8))
    out = models.ResNet18_Weights.DEFAULT.transforms()(image)
    assert tuple(out.shape) == (3, 224, 224) and out.dtype == juanji.float32
    # the recipe by hand: shorter side to 256 (bilinear, antialiased), centre 224, /255, normalise
    resized = image.resize((341, 256), Image.BILINEAR)
    arr = np.asarray(resized, dtype=np.float32)[16:240, 58:282] / 255.0
    expected = ((arr - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]).transpose(2, 0, 1)
    assert np.abs(out.numpy() - expected).mean() < 0.02  # PIL's and juanji's antialiased kernels differ slightly


# -- finding and downloading the files ------------------------------------------------------------

@pytest.fixture
def caches(tmp_path, monkeypatch):
    torch_home, juanji_home = tmp_path / "torch_home", tmp_path / "juanji_home"
    monkeypatch.setenv("TORCH_HOME", str(torch_home))
    monkeypatch.delenv("JUANJI_HOME", raising=False)
    monkeypatch.delenv(hub.MIRROR_ENV, raising=False)
    return torch_home / "hub" / "checkpoints", juanji_home / "checkpoints"


def _torch_resnet18_file(folder, name="resnet18-f37072fd.pth"):
    from tests.vision.test_models import RefBasicBlock, RefResNet
    torch.manual_seed(0)
    t_model = refs.randomise_batch_norm(RefResNet(RefBasicBlock, [2, 2, 2, 2]))
    os.makedirs(folder, exist_ok=True)
    torch.save(t_model.state_dict(), folder / name)
    return t_model.eval()


def test_weights_in_torchvisions_cache_are_used_without_download(caches, monkeypatch):
    torch_cache, _ = caches
    t_model = _torch_resnet18_file(torch_cache)
    monkeypatch.setenv(hub.MIRROR_ENV, "http://127.0.0.1:9/never")  # any download attempt would fail
    model = models.resnet18(weights=models.ResNet18_Weights.IMAGENET1K_V1).eval()
    x = np.random.default_rng(1).standard_normal((1, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        expected = t_model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model(juanji.tensor(x)).detach().numpy(), expected, rtol=1e-4, atol=1e-4)
    assert models.resnet18(weights="DEFAULT") is not None


def test_juanji_home_cache_and_a_weights_path(caches, monkeypatch, tmp_path):
    _, juanji_cache = caches
    monkeypatch.setenv("JUANJI_HOME", str(juanji_cache.parent))
    _torch_resnet18_file(juanji_cache)
    assert isinstance(models.resnet18(weights="ResNet18_Weights.IMAGENET1K_V1"), models.ResNet)
    _torch_resnet18_file(tmp_path, "mine.pth")
    model = models.resnet18(weights=str(tmp_path / "mine.pth"))
    np.testing.assert_array_equal(model.fc.bias.numpy(force=True), juanji.load(tmp_path / "mine.pth")["fc.bias"].numpy())
    with pytest.raises(FileNotFoundError, match="no such file"):
        models.resnet18(weights=str(tmp_path / "missing.pth"))


class _Server:
    """A local HTTP server over one folder, counting requests (no traffic leaves the machine)."""

    def __init__(self, folder):
        server = self
        self.requests = 0

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):
                server.requests += 1
                return super().do_GET()

            def log_message(self, *args):
                pass

        handler = functools.partial(Handler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _hashed_file(folder, stem="tiny"):
    juanji.save({"w": juanji.arange(5.0)}, folder / "tmp.pt", format="torch")
    digest = hashlib.sha256((folder / "tmp.pt").read_bytes()).hexdigest()
    name = f"{stem}-{digest[:8]}.pth"
    os.replace(folder / "tmp.pt", folder / name)
    return name


def test_download_from_a_mirror_checks_the_hash_and_caches(caches, tmp_path, capsys):
    torch_cache, _ = caches
    served = tmp_path / "served"
    served.mkdir()
    name = _hashed_file(served)
    server = _Server(served)
    try:
        url = "https://download.example.invalid/models/" + name  # the original host is never contacted
        state = hub.load_state_dict_from_url(url, check_hash=True, mirror=server.url + "/")
        assert state["w"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0] and server.requests == 1
        assert (torch_cache / name).exists()
        assert "Downloading" in capsys.readouterr().err
        hub.load_state_dict_from_url(url, check_hash=True, mirror=server.url)
        assert server.requests == 1  # cached
        (served / "bad-00000000.pth").write_bytes((served / name).read_bytes())
        with pytest.raises(RuntimeError, match='invalid hash value .* expected a SHA-256 starting with "00000000"'):
            hub.load_state_dict_from_url(url.replace(name, "bad-00000000.pth"), check_hash=True, mirror=server.url)
        assert not (torch_cache / "bad-00000000.pth").exists() and not list(torch_cache.glob(".partial-*"))
    finally:
        server.close()


def test_a_file_url_mirror_from_the_environment(caches, tmp_path, monkeypatch):
    _, juanji_cache = caches
    served = tmp_path / "mirror"
    served.mkdir()
    name = _hashed_file(served)
    monkeypatch.setenv(hub.MIRROR_ENV, served.as_uri())
    monkeypatch.setenv("JUANJI_HOME", str(juanji_cache.parent))
    state = hub.load_state_dict_from_url("https://download.example.invalid/" + name, check_hash=True,
                                         progress=False)
    assert state["w"].shape == (5,) and (juanji_cache / name).exists()


def test_offline_the_error_says_which_file_to_put_where(caches, monkeypatch):
    torch_cache, juanji_cache = caches
    monkeypatch.setenv(hub.MIRROR_ENV, "http://127.0.0.1:9")  # the discard port: connection refused
    with pytest.raises(RuntimeError) as error:
        models.mobilenet_v2(weights=models.MobileNet_V2_Weights.DEFAULT, progress=False)
    message = str(error.value)
    assert "mobilenet_v2-7ebf99e0.pth" in message and str(torch_cache) in message
    assert hub.checkpoint_dirs()[1] in message  # juanji's own cache ($JUANJI_HOME/checkpoints)
    assert hub.MIRROR_ENV in message and "\n" not in message


def test_densenet_files_with_torchvisions_old_key_names_load(caches):
    torch_cache, _ = caches
    j_model = models.densenet121()
    old = {}
    import re
    for k, v in j_model.state_dict().items():
        if k.endswith("num_batches_tracked"):
            continue  # files of that age have none (and no _metadata): BatchNorm fills it in
        old[re.sub(r"(denselayer\d+\.(?:norm|relu|conv))([12])\.", r"\1.\2.", k)] = torch.from_numpy(v.numpy().copy())
    assert any(".norm.1." in k for k in old)
    os.makedirs(torch_cache)
    torch.save(old, torch_cache / models.DenseNet121_Weights.DEFAULT.file_name)
    loaded = models.densenet121(weights="DEFAULT")
    np.testing.assert_array_equal(loaded.features.denseblock1.denselayer1.norm1.weight.numpy(force=True),
                                  j_model.features.denseblock1.denselayer1.norm1.weight.numpy(force=True))


def test_googlenet_weights_drop_the_aux_heads_as_torchvision(caches):
    torch_cache, _ = caches
    full = models.googlenet(aux_logits=True)
    os.makedirs(torch_cache)
    juanji.save(full.state_dict(), torch_cache / models.GoogLeNet_Weights.DEFAULT.file_name, format="torch")
    model = models.googlenet(weights="DEFAULT")
    assert model.aux1 is None and model.transform_input and not model.aux_logits
    assert models.googlenet(weights="DEFAULT", aux_logits=True).aux1 is not None
