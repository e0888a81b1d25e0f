"""juanji.onnx.load_model: torch's own ``torch.onnx.export`` of the zoo's architectures (written
in plain torch in tests/vision) imported by juanji gives torch's outputs at batch 1 and 3; a
graph juanji exported comes back with the model's state_dict names; the imported module has
Parameters that train, and is inspected by juanji's summary."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

import juanji
from juanji.vision import models

onnx = pytest.importorskip("onnx")
torch = pytest.importorskip("torch")
from tests.vision import reference_models as refs  # noqa: E402
from tests.vision.test_models import (RefAlexNet, RefBasicBlock, RefCNNNet, RefDenseNet121, RefGoogLeNet,  # noqa: E402
                                      RefResNet, ref_lenet5)

TORCH_MODELS = {
    "resnet18": (lambda: refs.randomise_batch_norm(RefResNet(RefBasicBlock, [2, 2, 2, 2], 10)), (3, 32, 32)),
    "resnext50_32x4d": (lambda: refs.randomise_batch_norm(refs.RefResNetX([3, 4, 6, 3], 10, 32, 4)), (3, 32, 32)),
    "mobilenet_v2": (lambda: refs.randomise_batch_norm(refs.RefMobileNetV2(10)), (3, 32, 32)),
    "squeezenet1_1": (lambda: refs.RefSqueezeNet("1_1", 10), (3, 64, 64)),
    "googlenet": (lambda: refs.randomise_batch_norm(RefGoogLeNet(10, small_input=True)), (3, 32, 32)),
    "densenet121": (lambda: refs.randomise_batch_norm(RefDenseNet121(10, small_input=True)), (3, 32, 32)),
    "alexnet": (lambda: RefAlexNet(10, small_input=True), (3, 32, 32)),
    "cnnnet": (RefCNNNet, (3, 32, 32)),
    "lenet5": (ref_lenet5, (1, 28, 28)),
}


def _torch_onnx(model, shape):
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(model, (torch.randn(2, *shape),), buf, input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=17,
                          dynamo=False)
    return buf.getvalue()


@pytest.mark.parametrize("name", sorted(TORCH_MODELS))
def test_torchs_onnx_export_imported_by_juanji_gives_torchs_outputs(name):
    build, shape = TORCH_MODELS[name]
    torch.manual_seed(0)
    t_model = build().eval()
    module = juanji.onnx.load_model(_torch_onnx(t_model, shape))
    assert isinstance(module, juanji.nn.Module) and len(list(module.parameters())) > 0
    rng = np.random.default_rng(1)
    for batch in (1, 3):
        x = rng.standard_normal((batch,) + shape).astype(np.float32)
        with torch.no_grad():
            expected = t_model(torch.from_numpy(x)).numpy()
        with juanji.no_grad():
            got = module(juanji.tensor(x)).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * max(1.0, float(np.abs(expected).max())))


@pytest.mark.parametrize("name, kwargs, shape", [("resnet18", dict(num_classes=10), (3, 32, 32)),
                                                 ("mobilenet_v2", dict(num_classes=10), (3, 32, 32)),
                                                 ("cnnnet", dict(), (3, 32, 32))])
def test_a_juanji_export_comes_back_with_its_state_dict_names(name, kwargs, shape):
    model = models.get_model(name, **kwargs).eval()
    buf = io.BytesIO()
    juanji.onnx.export(model, juanji.randn(1, *shape), buf, dynamic_axes={"input": [0], "output": [0]})
    module = juanji.onnx.load_model(buf.getvalue())
    own = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    back = {k for k in module.state_dict() if not k.endswith("num_batches_tracked")}
    assert own == back
    x = juanji.randn(3, *shape)
    with juanji.no_grad():
        np.testing.assert_allclose(module(x).numpy(), model(x).numpy(), rtol=1e-5, atol=1e-6)


def test_an_imported_module_fine_tunes_and_is_summarised():
    torch.manual_seed(0)
    module = juanji.onnx.load_model(_torch_onnx(RefCNNNet(), (3, 32, 32)))
    from juanji.explain import summary
    table = summary(module, (3, 32, 32))
    assert table.totals["params"] == sum(p.numel() for p in module.parameters()) == 62006
    opt = juanji.optim.SGD(module.parameters(), lr=0.1)
    x, y = juanji.randn(8, 3, 32, 32), juanji.tensor(np.arange(8) % 10)
    before = juanji.nn.functional.cross_entropy(module(x), y).item()
    for _ in range(5):
        opt.zero_grad()
        loss = juanji.nn.functional.cross_entropy(module(x), y)
        loss.backward()
        opt.step()
    assert all(p.grad is not None for p in module.parameters())
    assert juanji.nn.functional.cross_entropy(module(x), y).item() < before


def test_a_graph_with_an_op_juanji_cannot_run_is_named():
    helper = onnx.helper
    graph = helper.make_graph([helper.make_node("Einsum", ["x", "x"], ["y"], equation="ij,ij->i")], "g",
                              [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 2])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2])])
    with pytest.raises(NotImplementedError, match="ONNX ops juanji cannot run: Einsum"):
        juanji.onnx.load_model(helper.make_model(graph))
