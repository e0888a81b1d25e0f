"""Every benchmark case, written once against PyTorch's API and run in either framework.

A case's ``setup(torch)`` gets the framework module (``torch``, or ``juanji`` under that name)
and returns the callable to time, so the same code measures both; which framework runs is
decided by the worker process (``benchmarks/worker.py``), never by the case. Cases come in
*suites*: one worker process runs one suite of one framework.

Each case may carry a target from issue 9, checked on its ratio:

- ``("speed", x)``: images/s of juanji over torch's (= torch time / juanji time) >= x;
- ``("time", x)``: juanji time over torch's <= x.

The convolution suite's targets are on the whole suite (geometric mean <= 0.9, no case
above 1.3; see ``run.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .models import INPUTS, build, init_weights

__all__ = ["Case", "CASES", "SUITES", "by_name"]


@dataclass(frozen=True)
class Case:
    name: str                       # unique, "suite/what"
    title: str                      # for the tables
    setup: object                   # setup(torch) -> callable to time (its result may be a loss)
    images: int | None = None       # images per call, for images/s
    target: tuple | None = None     # ("speed" | "time", bound)
    flops: float | None = None      # floating-point operations per call (2 x multiply-adds)
    memory: bool = False            # also measure the peak memory of a call
    extra: dict = field(default_factory=dict)

    @property
    def suite(self) -> str:
        return self.name.split("/")[0]


# ------------------------------------------------------------------------------------------ models
def _batch(torch, model_name, batch, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, *INPUTS[model_name])).astype(np.float32)
    y = rng.integers(0, 10, batch)
    return torch.tensor(x), torch.tensor(y)


def _model(torch, name):
    torch.manual_seed(0)
    model = build(torch, name)
    init_weights(torch, model)
    return model


def training_step(name, batch):
    """zero_grad, forward, cross-entropy, backward, SGD (momentum 0.9) step; returns the loss."""
    def setup(torch):
        model = _model(torch, name)
        model.train()
        x, y = _batch(torch, name, batch)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        F = torch.nn.functional

        def step():
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            return loss
        step.model = model  # (the memory record counts its gradients)
        return step
    return setup


def forward_backward(name, batch):
    """Forward (train mode), cross-entropy, backward into freshly cleared gradients."""
    def setup(torch):
        model = _model(torch, name)
        model.train()
        x, y = _batch(torch, name, batch)
        F = torch.nn.functional

        def step():
            model.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            return loss
        step.model = model
        return step
    return setup


def inference(name, batch):
    """Eval mode, no_grad forward."""
    def setup(torch):
        model = _model(torch, name)
        model.eval()
        x, _ = _batch(torch, name, batch)

        def step():
            with torch.no_grad():
                return model(x).sum()
        return step
    return setup


def _model_cases():
    cases = [
        Case("train/lenet-b64", "LeNet-5 training step, batch 64", training_step("lenet", 64), 64, ("speed", 1.2),
             memory=True),
        Case("train/lenet-b256", "LeNet-5 training step, batch 256", training_step("lenet", 256), 256,
             ("speed", 1.2), memory=True),
        Case("train/resnet20-b128", "ResNet-20 training step, batch 128", training_step("resnet20", 128), 128,
             ("speed", 1.0), memory=True),
        Case("train/resnet18-b64", "ResNet-18 (CIFAR) training step, batch 64", training_step("resnet18", 64), 64,
             ("speed", 1.0), memory=True),
        Case("train/mobilenetv2-b64", "MobileNetV2 (CIFAR) training step, batch 64",
             training_step("mobilenetv2", 64), 64, ("speed", 1.0), memory=True),
    ]
    titles = {"resnet18": "ResNet-18", "vgg11": "VGG-11", "mobilenetv2": "MobileNetV2", "densenet121": "DenseNet-121"}
    for name, title in titles.items():
        for batch in (1, 2, 8):
            cases.append(Case(f"small/{name}-b{batch}", f"{title} fwd+bwd, batch {batch}",
                              forward_backward(name, batch), batch, ("time", 1.1), memory=True))
        cases.append(Case(f"infer/{name}-b1", f"{title} inference, batch 1", inference(name, 1), 1, ("time", 0.8)))
    return cases


# ------------------------------------------------------------------------------------------ convolutions
# title, input shape, weight shape, keyword arguments, transposed  (the issue-3 case list)
CONVS = [
    ("LeNet conv1 1->6 5x5 pad 2, 28x28", (256, 1, 28, 28), (6, 1, 5, 5), dict(padding=2), False),
    ("LeNet conv2 6->16 5x5, 14x14", (256, 6, 14, 14), (16, 6, 5, 5), {}, False),
    ("ResNet 16->16 3x3, 32x32", (128, 16, 32, 32), (16, 16, 3, 3), dict(padding=1), False),
    ("ResNet 64->64 3x3, 32x32", (64, 64, 32, 32), (64, 64, 3, 3), dict(padding=1), False),
    ("ResNet 128->128 3x3, 16x16", (64, 128, 16, 16), (128, 128, 3, 3), dict(padding=1), False),
    ("ResNet 256->256 3x3, 8x8", (64, 256, 8, 8), (256, 256, 3, 3), dict(padding=1), False),
    ("ResNet 64->128 3x3 stride 2, 32x32", (64, 64, 32, 32), (128, 64, 3, 3), dict(padding=1, stride=2), False),
    ("1x1 64->128, 32x32", (64, 64, 32, 32), (128, 64, 1, 1), {}, False),
    ("depthwise 3x3 64ch, 32x32", (64, 64, 32, 32), (64, 1, 3, 3), dict(padding=1, groups=64), False),
    ("dilated 3x3 64->64 dil 2, 32x32", (64, 64, 32, 32), (64, 64, 3, 3), dict(padding=2, dilation=2), False),
    ("AlexNet stem 3->64 11x11 stride 4, 224x224", (16, 3, 224, 224), (64, 3, 11, 11), dict(stride=4, padding=2),
     False),
    ("ConvTranspose 64->32 4x4 stride 2, 16x16", (64, 64, 16, 16), (64, 32, 4, 4), dict(stride=2, padding=1), True),
]


def _conv_arrays(x_shape, w_shape, transposed):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape).astype(np.float32)
    w = (rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))).astype(np.float32)
    b = rng.standard_normal(w_shape[1] if transposed else w_shape[0]).astype(np.float32)
    return x, w, b


def conv_case(x_shape, w_shape, kwargs, transposed, backward):
    def setup(torch):
        F = torch.nn.functional
        fn = F.conv_transpose2d if transposed else F.conv2d
        x, w, b = (torch.tensor(a, requires_grad=backward) for a in _conv_arrays(x_shape, w_shape, transposed))
        with torch.no_grad():
            shape = tuple(fn(x, w, b, **kwargs).shape)
        g = torch.tensor(np.random.default_rng(1).standard_normal(shape).astype(np.float32))

        def forward():
            with torch.no_grad():
                return fn(x, w, b, **kwargs)

        def train():
            x.grad = w.grad = b.grad = None
            fn(x, w, b, **kwargs).backward(g)
        return train if backward else forward
    return setup


def _conv_flops(x_shape, w_shape, kwargs, transposed):
    """2 x multiply-adds of the forward pass of a convolution (direct algorithm)."""
    n, _, h, w = x_shape
    if transposed:
        return 2.0 * n * h * w * np.prod(w_shape)
    s, p, d = kwargs.get("stride", 1), kwargs.get("padding", 0), kwargs.get("dilation", 1)
    kh, kw = w_shape[2:]
    oh = (h + 2 * p - d * (kh - 1) - 1) // s + 1
    ow = (w + 2 * p - d * (kw - 1) - 1) // s + 1
    return 2.0 * n * w_shape[0] * oh * ow * np.prod(w_shape[1:])


def gemm(size):
    def setup(torch):
        rng = np.random.default_rng(2)
        a, b = (torch.tensor(rng.standard_normal((size, size)).astype(np.float32)) for _ in range(2))

        def call():
            return a @ b
        return call
    return setup


def _conv_cases():
    cases = [Case("conv/gemm-2048", "float32 matrix product 2048^3 (the GEMM ceiling)", gemm(2048),
                  flops=2.0 * 2048 ** 3)]
    for i, (title, x_shape, w_shape, kwargs, transposed) in enumerate(CONVS):
        flops = _conv_flops(x_shape, w_shape, kwargs, transposed)
        three_by_three = w_shape[2:] == (3, 3) and kwargs.get("stride", 1) == 1 and kwargs.get("dilation", 1) == 1 \
            and kwargs.get("groups", 1) == 1 and not transposed
        cases.append(Case(f"conv/{i:02d}-fwdbwd", f"{title}, fwd+bwd", conv_case(x_shape, w_shape, kwargs, transposed,
                                                                                  True),
                          x_shape[0], flops=3 * flops, extra={"conv": True, "three_by_three": three_by_three}))
        cases.append(Case(f"convfwd/{i:02d}-fwd", f"{title}, forward", conv_case(x_shape, w_shape, kwargs, transposed,
                                                                                  False),
                          x_shape[0], flops=flops))
    return cases


# ------------------------------------------------------------------------------------------ per-op overhead
OPS = {"a + b": lambda a, b: a + b, "a * 2.0": lambda a, b: a * 2.0, "a @ b": lambda a, b: a @ b,
       "a.sum()": lambda a, b: a.sum(), "a.relu()": lambda a, b: a.relu(), "a.reshape(-1)": lambda a, b: a.reshape(-1),
       "a[1:3]": lambda a, b: a[1:3], "(a * b).relu() @ b": lambda a, b: (a * b).relu() @ b}


def _op(expression, n=16, grad=False):
    def setup(torch):
        rng = np.random.default_rng(0)
        a, b = (torch.tensor(rng.standard_normal((n, n)).astype(np.float32), requires_grad=grad) for _ in range(2))
        fn = OPS[expression]
        if grad:
            def call():
                a.grad = b.grad = None
                fn(a, b).sum().backward()
            return call
        return lambda: fn(a, b)
    return setup


def mlp_step(batch=128):
    def setup(torch):
        torch.manual_seed(0)
        nn = torch.nn
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
        init_weights(torch, model)
        rng = np.random.default_rng(1)
        x = torch.tensor(rng.standard_normal((batch, 784)).astype(np.float32))
        y = torch.tensor(rng.integers(0, 10, batch))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def step():
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            return loss
        step.model = model  # (the memory record counts its gradients)
        return step
    return setup


def layer(make, shape, backward=True):
    """A module ``make(nn)`` on a random input of ``shape``: forward + backward (train mode)."""
    def setup(torch):
        torch.manual_seed(0)
        module = make(torch.nn)
        x = torch.tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32), requires_grad=backward)

        def call():
            if not backward:
                with torch.no_grad():
                    return module(x)
            x.grad = None
            for p in module.parameters():
                p.grad = None
            module(x).sum().backward()
        return call
    return setup


def _op_cases():
    cases = []
    for expression in list(OPS)[:-1]:
        cases.append(Case(f"ops/{expression}", f"{expression} (16x16)", _op(expression)))
    cases.append(Case("ops/((a*b).relu() @ b).sum() fwd+bwd", "((a*b).relu() @ b).sum() fwd+bwd (16x16)",
                      _op("(a * b).relu() @ b", grad=True)))
    cases.append(Case("ops/linear-8-b1", "Linear 8->8, batch 1, fwd+bwd", layer(lambda nn: nn.Linear(8, 8), (1, 8))))
    cases.append(Case("ops/conv-3x3-8-b1", "Conv2d 8->8 3x3 on 1x8x8x8, fwd+bwd",
                      layer(lambda nn: nn.Conv2d(8, 8, 3, padding=1), (1, 8, 8, 8))))
    cases.append(Case("ops/mlp-step-b128", "MLP 784-256-256-10 training step, batch 128", mlp_step(), 128))
    big = (64, 64, 32, 32)
    for title, make in [("MaxPool2d 2x2", lambda nn: nn.MaxPool2d(2)), ("AvgPool2d 2x2", lambda nn: nn.AvgPool2d(2)),
                        ("MaxPool2d 3x3 s2", lambda nn: nn.MaxPool2d(3, 2)),
                        ("BatchNorm2d", lambda nn: nn.BatchNorm2d(64)), ("ReLU", lambda nn: nn.ReLU())]:
        key = title.split()[0].lower() + ("-3x3" if "3x3" in title else "")
        cases.append(Case(f"ops/{key}-fwdbwd", f"{title} on 64x64x32x32, fwd+bwd", layer(make, big)))
    return cases


CASES = _model_cases() + _conv_cases() + _op_cases()
SUITES = sorted({case.suite for case in CASES})
_BY_NAME = {case.name: case for case in CASES}


def by_name(name: str) -> Case:
    return _BY_NAME[name]
