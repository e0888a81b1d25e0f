"""d2l's fully convolutional network on the embedded scenes: juanji and PyTorch, each in its own process.

    python -m benchmarks.train_fcn_scenes [--epochs 6] [--size 96] [--train-samples N]

Not part of the test run (minutes per epoch and framework on 2 cores). The recipe is
``juanji train --task segmentation --model fcn_resnet18_d2l``'s: a ResNet-18 body (ImageNet
stem, stride 32) without pooling and fc, a 1x1 convolution to the 6 classes, a stride-32
transposed convolution initialised as bilinear upsampling; the 3,000 training scenes at
96 x 96, normalised by their channel means and standard deviations, mirrored at random; batch
32, Adam (lr 2e-3, weight decay 1e-4) with a one-cycle schedule stepped every batch,
cross-entropy over the pixels; the 500 test scenes scored after every epoch (pixel accuracy,
per-class IoU, mean IoU over the 6 classes).

Both frameworks run the same model code (written once against torch's API below), start from
the same weights (``benchmarks.models.init_weights`` + the bilinear kernel), and see the same
batches and flips (one seeded NumPy generator), so their curves differ only by rounding as it
compounds. A first process renders the scenes with juanji into a temporary .npz; each
framework's process then reads only that file (the torch process never imports juanji). The
runs are sequential; each epoch's time carries the foreign CPU load measured over it. Writes
benchmarks/results/train_fcn_scenes[_MODEL].{json,md}. ``--model fcn8s_resnet18`` runs FCN-8s instead.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

from .cpuload import CpuMeter

RESULTS = pathlib.Path(__file__).resolve().parent / "results"
ROOT = RESULTS.parent.parent
NUM_CLASSES = 6


def build_fcn(torch, num_classes: int = NUM_CLASSES, model: str = "fcn_resnet18_d2l"):
    """d2l's FCN (ResNet-18 body, 1x1 conv, stride-32 transposed conv), or FCN-8s on the same body
    (``model="fcn8s_resnet18"``: skip scores from layer3 and layer2), in the framework ``torch``."""
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self, inplanes, planes, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = None
            if stride != 1 or inplanes != planes:
                self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                                nn.BatchNorm2d(planes))

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = torch.relu(self.bn1(self.conv1(x)))
            return torch.relu(self.bn2(self.conv2(out)) + identity)

    def stage(inplanes, planes, stride):
        return nn.Sequential(Block(inplanes, planes, stride), Block(planes, planes, 1))

    net = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                        nn.MaxPool2d(3, 2, 1), stage(64, 64, 1), stage(64, 128, 2), stage(128, 256, 2),
                        stage(256, 512, 2))
    if model == "fcn8s_resnet18":
        return _FCN8s(torch, net, num_classes)
    net.add_module("final_conv", nn.Conv2d(512, num_classes, kernel_size=1))
    net.add_module("transpose_conv", nn.ConvTranspose2d(num_classes, num_classes, kernel_size=64, padding=16,
                                                        stride=32))
    return net


def _FCN8s(torch, body, num_classes):
    nn = torch.nn

    class FCN8s(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = body
            self.score32, self.score16, self.score8 = (nn.Conv2d(c, num_classes, 1) for c in (512, 256, 128))
            self.up32 = nn.ConvTranspose2d(num_classes, num_classes, 4, 2, 1, bias=False)
            self.up16 = nn.ConvTranspose2d(num_classes, num_classes, 4, 2, 1, bias=False)
            self.up8 = nn.ConvTranspose2d(num_classes, num_classes, 16, 8, 4, bias=False)

        def forward(self, x):
            taps = []
            for layer in self.body:
                x = layer(x)
                taps.append(x)
            out = self.up32(self.score32(taps[7])) + self.score16(taps[6])
            return self.up8(self.up16(out) + self.score8(taps[5]))

    return FCN8s()


def initial_upsampling(model: str) -> dict:
    """The bilinear kernels of the upsampling layers and the zero skip scores (FCN-8s)."""
    if model == "fcn8s_resnet18":
        state = {f"up{s}.weight": bilinear_weight(NUM_CLASSES, k) for s, k in ((32, 4), (16, 4), (8, 16))}
        for s in (16, 8):
            state[f"score{s}.weight"] = np.zeros((NUM_CLASSES, 512 // (32 // s), 1, 1), np.float32)
            state[f"score{s}.bias"] = np.zeros(NUM_CLASSES, np.float32)
        return state
    return {"transpose_conv.weight": bilinear_weight(NUM_CLASSES, 64),
            "transpose_conv.bias": np.zeros(NUM_CLASSES, np.float32)}


def bilinear_weight(channels: int, k: int) -> np.ndarray:
    """The bilinear upsampling kernel on the channel diagonal (d2l's ``bilinear_kernel``)."""
    f = (k + 1) // 2
    c = f - 1 if k % 2 == 1 else f - 0.5
    tent = 1 - np.abs(np.arange(k) - c) / f
    w = np.zeros((channels, channels, k, k), np.float32)
    w[range(channels), range(channels)] = np.outer(tent, tent)
    return w


def scores(confusion: np.ndarray) -> dict:
    tp = np.diag(confusion).astype(float)
    union = confusion.sum(0) + confusion.sum(1) - tp
    iou = np.where(union > 0, tp / np.maximum(union, 1), np.nan)
    return {"pixel_accuracy": 100 * tp.sum() / confusion.sum(), "iou": [float(v) for v in iou],
            "mean_iou": 100 * float(np.nanmean(iou))}


def prepare(path: str, size: int, recipes=None) -> None:
    """Render the scenes with juanji (in a process of its own) into ``path``."""
    from juanji.vision.datasets.scenes import load_scenes
    train_x, train_y = load_scenes(True, size, recipes)
    test_x, test_y = load_scenes(False, size, recipes)
    np.savez(path, train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y)


def train(framework: str, args) -> None:
    """The child: train in ``framework`` and print one JSON line per epoch."""
    if framework == "torch":
        import torch
    else:
        import juanji as torch
    from .models import init_weights
    torch.set_num_threads(args.threads)
    with np.load(args.scenes) as data:
        train_x, train_y, test_x, test_y = (data[k] for k in ("train_x", "train_y", "test_x", "test_y"))
    if args.train_samples:
        train_x, train_y = train_x[:args.train_samples], train_y[:args.train_samples]
    mean = train_x.reshape(-1, 3).mean(0) / 255
    std = train_x.reshape(-1, 3).std(0) / 255

    def images(x):
        return torch.tensor(((x / 255.0 - mean) / std).transpose(0, 3, 1, 2).astype(np.float32))

    torch.manual_seed(args.seed)
    model = build_fcn(torch, model=args.model)
    init_weights(torch, model, args.seed)
    model.load_state_dict({k: torch.tensor(v) for k, v in initial_upsampling(args.model).items()}, strict=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = len(train_x) // args.batch_size
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr,
                                                   total_steps=args.epochs * steps_per_epoch)
    F = torch.nn.functional
    rng = np.random.default_rng(args.seed)
    for epoch in range(args.epochs):
        order = rng.permutation(len(train_x))
        model.train()
        losses = []
        with CpuMeter() as meter:
            for i in range(steps_per_epoch):
                index = order[i * args.batch_size:(i + 1) * args.batch_size]
                flip = rng.random(len(index)) < 0.5
                x = np.where(flip[:, None, None, None], train_x[index][:, :, ::-1], train_x[index])
                y = np.where(flip[:, None, None], train_y[index][:, :, ::-1], train_y[index])
                optimizer.zero_grad()
                loss = F.cross_entropy(model(images(x)), torch.tensor(y.astype(np.int64)))
                loss.backward()
                optimizer.step()
                schedule.step()
                losses.append(float(loss))
        model.eval()
        confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), np.int64)
        with torch.no_grad():
            for i in range(0, len(test_x), 50):
                predicted = model(images(test_x[i:i + 50])).argmax(1).numpy()
                truth = test_y[i:i + 50]
                confusion += np.bincount(truth.ravel().astype(np.int64) * NUM_CLASSES + predicted.ravel(),
                                         minlength=NUM_CLASSES ** 2).reshape(NUM_CLASSES, NUM_CLASSES)
        print(json.dumps({"framework": framework, "epoch": epoch + 1, "seconds": meter.wall,
                          "load": meter.foreign_load, "train_loss": float(np.mean(losses)), **scores(confusion)}),
              flush=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--model", choices=["fcn_resnet18_d2l", "fcn8s_resnet18"], default="fcn_resnet18_d2l")
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--train-samples", type=int, default=None, help="a subset, for a quick check")
    parser.add_argument("--recipes", default=None, help="another scenes file made by scripts/make_scenes.py")
    parser.add_argument("--frameworks", default="juanji,torch", help="which to run, in order")
    parser.add_argument("--framework", choices=["juanji", "torch"], help=argparse.SUPPRESS)  # the child
    parser.add_argument("--scenes", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.framework:
        train(args.framework, args)
        return
    child_args = [a for a in (argv if argv is not None else sys.argv[1:])]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        scenes = os.path.join(tmp, "scenes.npz")
        subprocess.run([sys.executable, "-c", f"from benchmarks.train_fcn_scenes import prepare; "
                        f"prepare({scenes!r}, {args.size}, {args.recipes!r})"], cwd=ROOT, check=True)
        for framework in args.frameworks.split(","):
            done = subprocess.Popen([sys.executable, "-m", "benchmarks.train_fcn_scenes", *child_args,
                                     "--framework", framework, "--scenes", scenes], cwd=ROOT, env=dict(os.environ),
                                    stdout=subprocess.PIPE, text=True)
            rows[framework] = []
            for line in done.stdout:
                if line.startswith("{"):
                    r = json.loads(line)
                    rows[framework].append(r)
                    load = "n/a" if r["load"] is None else f"{100 * r['load']:.0f} %"
                    print(f"{framework:6s} epoch {r['epoch']:2d}: mIoU {r['mean_iou']:.2f} %, pixel accuracy "
                          f"{r['pixel_accuracy']:.2f} %, loss {r['train_loss']:.3f}, {r['seconds']:.0f} s "
                          f"(foreign load {load})", flush=True)
            if done.wait():
                raise SystemExit(f"{framework} run failed")
    RESULTS.mkdir(exist_ok=True)
    stem = "train_fcn_scenes" if args.model == "fcn_resnet18_d2l" else f"train_fcn_scenes_{args.model}"
    (RESULTS / f"{stem}.json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=1))
    lines = [f"# {args.model} on the embedded scenes: juanji vs PyTorch (each in its own process)", "",
             f"{args.size}x{args.size} scenes, {args.train_samples or 3000} training / 500 test, batch "
             f"{args.batch_size}, Adam lr {args.lr} one-cycle, {args.epochs} epochs", "",
             "| framework | epoch | mIoU % | pixel acc % | IoU per class (bg, top, trouser, dress, footwear, bag) "
             "| s | foreign load % |", "|---|---:|---:|---:|---|---:|---:|"]
    for framework, records in rows.items():
        for r in records:
            lines.append(f"| {framework} | {r['epoch']} | {r['mean_iou']:.2f} | {r['pixel_accuracy']:.2f} | "
                         f"{', '.join(f'{v:.2f}' for v in r['iou'])} | {r['seconds']:.0f} | "
                         f"{100 * (r['load'] or 0):.0f} |")
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
