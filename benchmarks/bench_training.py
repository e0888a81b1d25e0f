"""Training and inference speed of whole models, juanji vs PyTorch in the same process.

    python -m benchmarks.bench_training [--repeats 5] [--quick] [--name training]

Both libraries use their default thread pools; on a busy machine
``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python -m benchmarks.bench_training
--name training_1thread`` compares them single-threaded, which is steadier.

Measured (medians of interleaved repetitions, see common.interleaved):

- images/s of a training step at batch 256 (SGD with momentum, cross-entropy) for LeNet-5
  (ReLU, max pooling; 1 x 28 x 28) and ResNet-20 (1 x 32 x 32, Fashion-MNIST padded), both
  starting from the same weights (juanji's model, copied into a torch copy of it);
- batch-1 inference latency of ResNet-18 (3 x 224 x 224, eval mode, no graph);
- the data-loading share of a training step: the time ``juanji train``'s loader takes to hand
  over a batch (in-memory uint8 images, one table lookup per batch) against the step itself;
- the peak memory of a training step (resident-set rise in a fresh process, common.peak_memory).

Targets from the issue: LeNet >= 0.6x torch's images/s, ResNet-20 >= 0.5x, ResNet-18 latency
<= 2x, data loading never the bottleneck, peak memory <= 1.5x torch.
Writes benchmarks/results/<name>.{json,md}.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import juanji
from juanji.nn import functional as F
from juanji.vision.models import get_model

from .common import interleaved, peak_memory, write_report

BATCH = 256
LR, MOMENTUM = 0.01, 0.9
# model name -> (get_model arguments, input shape of one image)
MODELS = {
    "lenet5": ({"variant": "relu", "num_classes": 10, "in_channels": 1}, (1, 28, 28)),
    "resnet20": ({"num_classes": 10, "in_channels": 1}, (1, 32, 32)),
}


# ---------------------------------------------------------------------------------- torch copies
def torch_model(name: str, **kwargs):
    """A torch model with the same layers, names and shapes as juanji.vision.models' ``name``."""
    import torch
    nn = torch.nn
    if name == "lenet5":
        assert kwargs.get("variant") == "relu"
        return nn.Sequential(
            nn.Conv2d(kwargs["in_channels"], 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, kwargs["num_classes"]))

    class BasicBlock(nn.Module):
        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = downsample

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + identity)

    def stage(inplanes, planes, blocks, stride):
        downsample = None
        if stride != 1 or inplanes != planes:
            downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))
        return nn.Sequential(BasicBlock(inplanes, planes, stride, downsample),
                             *[BasicBlock(planes, planes) for _ in range(1, blocks)])

    class ResNet(nn.Module):
        def __init__(self, widths, blocks, stem, num_classes, in_channels):
            super().__init__()
            if stem == "cifar":
                self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
            else:
                self.conv1 = nn.Conv2d(in_channels, widths[0], 7, 2, 3, bias=False)
                self.maxpool = nn.MaxPool2d(3, 2, 1)
            self.bn1 = nn.BatchNorm2d(widths[0])
            self.relu = nn.ReLU(inplace=True)
            channels = widths[0]
            for i, (width, count) in enumerate(zip(widths, blocks)):
                setattr(self, f"layer{i + 1}", stage(channels, width, count, 1 if i == 0 else 2))
                channels = width
            self.stages = len(widths)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(channels, num_classes)

        def forward(self, x):
            x = self.relu(self.bn1(self.conv1(x)))
            if hasattr(self, "maxpool"):
                x = self.maxpool(x)
            for i in range(self.stages):
                x = getattr(self, f"layer{i + 1}")(x)
            return self.fc(torch.flatten(self.avgpool(x), 1))

    if name == "resnet20":
        return ResNet((16, 32, 64), (3, 3, 3), "cifar", kwargs["num_classes"], kwargs["in_channels"])
    if name == "resnet18":
        return ResNet((64, 128, 256, 512), (2, 2, 2, 2), "imagenet", kwargs.get("num_classes", 1000),
                      kwargs.get("in_channels", 3))
    raise ValueError(f"no torch copy of {name}")


def copy_weights(jmodel, tmodel) -> None:
    """juanji's weights into the torch copy; strict, so names and shapes must all match."""
    import torch
    state = {k: torch.from_numpy(np.array(v.numpy(), copy=True)) for k, v in jmodel.state_dict().items()}
    tmodel.load_state_dict(state, strict=True)


def model_pair(name: str, **kwargs):
    juanji.manual_seed(0)
    jmodel = get_model(name, **kwargs)
    tmodel = torch_model(name, **kwargs)
    copy_weights(jmodel, tmodel)
    return jmodel, tmodel


# ---------------------------------------------------------------------------------- steps
def training_steps(name: str, batch: int = BATCH):
    """(juanji step, torch step, the two first losses) on one fixed batch of real images."""
    import torch
    from juanji.training.data import load_datasets
    kwargs, shape = MODELS[name]
    jmodel, tmodel = model_pair(name, **kwargs)
    data = load_datasets("sample", pad=(shape[1] - 28) // 2, train_samples=batch)
    x_np = data.preprocessing.apply(data.train.images[:batch])
    y_np = data.train.labels[:batch]
    jx, jy = juanji.from_numpy(x_np), juanji.from_numpy(y_np)
    tx, ty = torch.from_numpy(x_np), torch.from_numpy(y_np)
    jopt = juanji.optim.SGD(jmodel.parameters(), lr=LR, momentum=MOMENTUM)
    topt = torch.optim.SGD(tmodel.parameters(), lr=LR, momentum=MOMENTUM)
    jmodel.train()
    tmodel.train()
    losses = {}

    def jstep():
        jopt.zero_grad()
        loss = F.cross_entropy(jmodel(jx), jy)
        loss.backward()
        jopt.step()
        losses.setdefault("juanji", float(loss.item()))

    def tstep():
        topt.zero_grad()
        loss = torch.nn.functional.cross_entropy(tmodel(tx), ty)
        loss.backward()
        topt.step()
        losses.setdefault("torch", float(loss.item()))

    return jstep, tstep, losses


def loading_time(name: str, batch: int = BATCH, batches: int = 20) -> float:
    """Median seconds ``juanji train``'s loader takes per batch (workers=0, shuffled)."""
    from juanji.training.data import load_datasets, training_loader
    from juanji.training.sampler import EpochShuffleSampler
    _, shape = MODELS[name]
    data = load_datasets("sample", pad=(shape[1] - 28) // 2)
    sampler = EpochShuffleSampler(len(data.train), seed=0)
    loader = training_loader(data.train, sampler, batch, workers=0, seed=0)
    times = []
    iterator = iter(loader)
    for _ in range(batches):
        start = time.perf_counter()
        next(iterator)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


# ---------------------------------------------------------------------------------- memory (child processes)
def _memory_call(name: str, library: str):
    jstep, tstep, _ = training_steps(name)
    return jstep if library == "juanji" else tstep


def memory_lenet_juanji():
    return _memory_call("lenet5", "juanji")


def memory_lenet_torch():
    return _memory_call("lenet5", "torch")


def memory_resnet20_juanji():
    return _memory_call("resnet20", "juanji")


def memory_resnet20_torch():
    return _memory_call("resnet20", "torch")


MEMORY_CALLS = {"lenet5": (memory_lenet_juanji, memory_lenet_torch),
                "resnet20": (memory_resnet20_juanji, memory_resnet20_torch)}


# ---------------------------------------------------------------------------------- the benchmark
def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 repeats, no memory measurement")
    parser.add_argument("--name", default="training", help="results file name")
    args = parser.parse_args(argv)
    import torch
    repeats = 2 if args.quick else args.repeats
    rows, summary = [], {}

    for name in MODELS:
        jstep, tstep, losses = training_steps(name)
        j, t = interleaved(jstep, tstep, repeats=repeats, warmup=2)
        load = loading_time(name)
        row = {"case": f"{name} train step, batch {BATCH}", "juanji_ms": j * 1e3, "torch_ms": t * 1e3,
               "juanji_ips": BATCH / j, "torch_ips": BATCH / t, "ratio": t / j,
               "first_loss_juanji": losses["juanji"], "first_loss_torch": losses["torch"],
               "load_ms": load * 1e3, "load_share": load / (load + j)}
        if not args.quick:
            jmake, tmake = MEMORY_CALLS[name]
            jmem, tmem = peak_memory(jmake), peak_memory(tmake)
            if jmem is not None and tmem is not None:
                row.update(juanji_mib=jmem / 2 ** 20, torch_mib=tmem / 2 ** 20, memory_ratio=jmem / max(tmem, 1))
        rows.append(row)
        summary[f"{name} images/s ratio juanji/torch"] = row["ratio"]
        summary[f"{name} data-loading share of a step"] = row["load_share"]
        print(f"{row['case']}: juanji {row['juanji_ips']:.0f} img/s, torch {row['torch_ips']:.0f} img/s, "
              f"ratio {row['ratio']:.2f}; loading {row['load_ms']:.1f} ms ({100 * row['load_share']:.1f} %)", flush=True)

    jmodel, tmodel = model_pair("resnet18", num_classes=1000, in_channels=3)
    jmodel.eval()
    tmodel.eval()
    image = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
    jx, tx = juanji.from_numpy(image), torch.from_numpy(image)

    def jinfer():
        with juanji.no_grad():
            return jmodel(jx)

    def tinfer():
        with torch.no_grad():
            return tmodel(tx)

    np.testing.assert_allclose(jinfer().numpy(), tinfer().numpy(), rtol=1e-3, atol=1e-3)
    j, t = interleaved(jinfer, tinfer, repeats=max(repeats * 4, 5), warmup=2)
    rows.append({"case": "resnet18 inference, batch 1, 3x224x224", "juanji_ms": j * 1e3, "torch_ms": t * 1e3,
                 "latency_ratio": j / t})
    summary["resnet18 batch-1 latency ratio juanji/torch"] = j / t
    print(f"resnet18 batch-1 inference: juanji {j * 1e3:.1f} ms, torch {t * 1e3:.1f} ms, ratio {j / t:.2f}")
    for row in rows:
        if "memory_ratio" in row:
            summary[f"{row['case'].split()[0]} peak memory ratio juanji/torch"] = row["memory_ratio"]

    columns = [("case", "case", ""), ("juanji_ms", "juanji ms", ".1f"), ("torch_ms", "torch ms", ".1f"),
               ("juanji_ips", "juanji img/s", ".0f"), ("torch_ips", "torch img/s", ".0f"),
               ("ratio", "img/s juanji/torch", ".2f"), ("latency_ratio", "latency juanji/torch", ".2f"),
               ("load_ms", "loading ms/batch", ".2f"), ("load_share", "loading share", ".3f"),
               ("juanji_mib", "juanji peak MiB", ".0f"), ("torch_mib", "torch peak MiB", ".0f"),
               ("memory_ratio", "memory juanji/torch", ".2f")]
    notes = ["img/s ratio = torch step time / juanji step time (higher is better for juanji); targets: "
             "LeNet >= 0.6, ResNet-20 >= 0.5, ResNet-18 latency <= 2, memory <= 1.5.",
             "loading = median time for `juanji train`'s DataLoader to hand over one shuffled batch "
             "(workers=0); share = loading / (loading + juanji step).",
             "peak memory = rise of the resident set during the second training step in a fresh process.",
             "Thread counts and the machine load are in the environment line."]
    print(write_report(args.name, rows, columns, summary=summary, notes=notes, title="Training and inference"))


if __name__ == "__main__":
    main()
