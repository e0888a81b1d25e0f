"""grad_fn names are torch's: ``type(y.grad_fn).__name__``, ``y.grad_fn.name()`` and the
``grad_fn=<...>`` of a printed tensor, for the common operations and their overloads (``x.sum()``
is SumBackward0, ``x.sum(0)`` SumBackward1, ``4.2 - x`` RsubBackward1), custom Functions, and
the naming machinery of ``Op`` (``node_name``, ``variant``, ``node_name_for``)."""

import re

import numpy as np
import pytest

import juanji
from juanji.autograd.function import Op

torch = pytest.importorskip("torch")

# each is evaluated with ``lib`` bound to juanji and to torch, on the tensors of _inputs(lib)
EXPRESSIONS = [
    # arithmetic and its overloads
    "x + 1", "x + y", "1 + x", "x - 1", "x - y", "4.2 - x", "x * 2", "x * y", "2 * x", "x / 2", "x / y",
    "2 / x", "x ** 2", "x ** 3", "x ** 0.5", "x ** y", "2 ** x", "-x", "x % 2", "x % y", "x.square()",
    "x.reciprocal()", "x.add(y, alpha=2)", "x.sub(1, alpha=2)",
    # elementwise functions
    "x.abs()", "x.exp()", "x.log()", "x.log1p()", "x.sqrt()", "x.rsqrt()", "x.sin()", "x.cos()", "x.tan()",
    "x.tanh()", "x.sigmoid()", "x.relu()", "x.expm1()", "x.log2()", "x.log10()", "x.sign()", "x.sgn()",
    "x.floor()", "x.ceil()", "x.trunc()", "x.round()", "x.frac()", "x.lerp(y, 0.5)",
    "x.clamp(0, 1)", "x.clamp(min=0)", "x.clamp(max=y)", "x.clip(-1, 1)", "x.clamp_min(0)", "x.clamp_max(1)",
    "x.maximum(y)", "x.minimum(y)", "x.max(y)", "lib.where(x > 0, x, y)", "x.masked_fill(x > 0, 0.0)",
    "x.double()", "x.to(lib.float64)", "x.half()",
    # reductions
    "x.sum()", "x.sum(0)", "x.sum((0, 1))", "x.sum(1, keepdim=True)", "x.mean()", "x.mean(0)", "x.prod()",
    "x.prod(1)", "x.var()", "x.var(0)", "x.std()", "x.std(1, keepdim=True)", "x.max()", "x.max(0)[0]",
    "x.min()", "x.min(1).values", "x.amax(0)", "x.amin()", "x.logsumexp(1)", "x.norm()", "x.norm(dim=0)",
    "x.norm(p=1)", "x.cumsum(0)", "x.softmax(1)", "x.log_softmax(0)",
    # shape and layout
    "x.view(-1)", "x.reshape(-1)", "x.reshape(3, 2)", "x.t().reshape(6)", "x.t().flatten()", "x.flatten()",
    "x.view_as(x)", "x.ravel()", "x.unflatten(1, (3, 1))", "x.t()", "x.T", "x.mT", "x.permute(1, 0)",
    "x.transpose(0, 1)", "x.swapaxes(0, 1)", "x.movedim(0, 1)", "x.unsqueeze(0)", "x[None].squeeze()",
    "x[None].squeeze(0)", "x[None].squeeze((0, 1))", "x.expand(2, 2, 3)", "x.repeat(2, 1)", "x.flip(0)",
    "x.roll(1, 0)", "lib.cat([x, y])", "lib.stack([x, y])", "lib.hstack([x, y])", "x.clone()",
    "x.t().contiguous()",
    # indexing
    "x[0]", "x[0, 1]", "x[:, 1:]", "x[1:, 0]", "x[0, 1:]", "x[:]", "x[...]", "x[:, :]", "x[None]",
    "x[:, None]", "x[..., 0]", "x[0:5]", "x[-1]", "x[[0, 1]]", "x[x > 0]", "x[:, [0, 2]]", "x[0, [0, 1]]",
    "x[lib.tensor(1)]", "x.narrow(1, 0, 2)", "x.select(1, 0)", "x.unbind(1)[0]", "x.split(1)[0]",
    "x.split([1, 2], 1)[1]", "x.chunk(2)[0]", "x.tensor_split(2, 1)[0]", "x.gather(0, idx)",
    "x.index_select(1, ivec)", "x.scatter(0, idx, y)", "x.scatter(0, idx, 1.5)", "x.scatter_add(0, idx, y)",
    "x.sort(1)[0]", "x.topk(2)[0]",
    # products
    "x @ w", "x.mm(w)", "x[0] @ x[0]", "x @ w[:, 0]", "x[0] @ w", "b3 @ b3.transpose(1, 2)", "b3 @ w",
    "x[0] @ b3.transpose(1, 2)", "b3.bmm(b3.transpose(1, 2))", "x.mv(w[:, 0])", "x[0].dot(x[1])",
    # nn.functional
    "F.linear(x, w.t(), bvec)", "F.linear(x, w.t())", "F.linear(b3, w.t(), bvec)", "F.linear(b3, w.t())",
    "F.linear(x[0], w.t(), bvec)", "F.linear(x[0], w.t())", "F.relu(x)", "F.leaky_relu(x)", "F.elu(x)",
    "F.celu(x, alpha=2.0)",
    "F.selu(x)", "F.gelu(x)", "F.silu(x)", "F.mish(x)", "F.softplus(x)", "F.hardtanh(x)", "F.relu6(x)",
    "F.hardsigmoid(x)", "F.hardswish(x)", "F.softsign(x)", "F.threshold(x, 0.1, 2.0)", "F.prelu(img, a2)",
    "F.softmax(x, 1)", "F.log_softmax(x, 1)",
    "F.mse_loss(x, y)", "F.mse_loss(x, y, reduction='none')", "F.l1_loss(x, y)", "F.l1_loss(x, y, reduction='sum')",
    "F.l1_loss(x, y, reduction='none')", "F.smooth_l1_loss(x, y)", "F.huber_loss(x, y)",
    "F.cross_entropy(x, tgt)", "F.cross_entropy(x, tgt, reduction='none')", "F.nll_loss(x, tgt)",
    "F.cross_entropy(x, tgt, label_smoothing=0.1)", "F.cross_entropy(img, tgt2d)",
    "F.cross_entropy(x, y.softmax(1))", "F.cross_entropy(x, y.softmax(1), reduction='sum')",
    "F.binary_cross_entropy(x.sigmoid(), y.sigmoid())", "F.binary_cross_entropy_with_logits(x, y.sigmoid())",
    "F.kl_div(x, y.sigmoid(), reduction='batchmean')", "F.kl_div(x, y.sigmoid(), reduction='sum')",
    "F.kl_div(x, y, reduction='none', log_target=True)",
    "F.conv2d(img, k)", "F.conv1d(img[0].transpose(0, 1), k[:, :, 0])", "F.conv_transpose2d(img, k.transpose(0, 1))",
    "F.max_pool2d(img, 2)", "F.max_pool1d(img[0], 2)", "F.max_pool3d(img[None], 1)", "F.avg_pool2d(img, 2)",
    "F.avg_pool1d(img[0], 2)", "F.max_unpool2d(*F.max_pool2d(img, 2, return_indices=True), 2)",
    "F.batch_norm(img, None, None, training=True)", "F.batch_norm(img, rm, rv, training=False)",
    "F.dropout(x, 0.5)", "F.dropout2d(img, 0.5)", "F.alpha_dropout(x, 0.5, training=True)",
    "F.pad(img, (1, 1))", "F.pad(img, (1, 1, 1, 1), mode='reflect')", "F.pad(img[0], (1, 1), mode='replicate')",
    "F.pad(img, (1, 1, 1, 1), mode='circular')", "F.embedding(tgt, w)", "F.unfold(img, 2)",
    "F.fold(F.unfold(img, 2), (4, 4), 2)", "F.pixel_shuffle(img4, 2)", "F.pixel_unshuffle(img, 2)",
    "F.local_response_norm(img, 2)",
    # nn.functional computed in several steps here and as one node in torch: the last step
    # carries torch's name (CELU, upsampling, adaptive pools, layer/group norm, bilinear)
    "F.logsigmoid(x)", "F.celu(x)", "F.celu(x * 1, inplace=True)", "F.elu(x * 1, inplace=True)",
    "F.selu(x * 1, inplace=True)",
    "F.interpolate(img, scale_factor=2)", "F.interpolate(img, scale_factor=2, mode='nearest-exact')",
    "F.interpolate(img, size=(3, 5), mode='bilinear')", "F.interpolate(img, scale_factor=2, mode='bicubic')",
    "F.interpolate(img, scale_factor=0.5, mode='bilinear', antialias=True)",
    "F.interpolate(img, scale_factor=0.5, mode='bicubic', antialias=True)",
    "F.interpolate(img[0], scale_factor=2)", "F.interpolate(img[0], scale_factor=2, mode='linear')",
    "F.interpolate(img[None], scale_factor=2)", "F.interpolate(img[None], scale_factor=2, mode='trilinear')",
    "F.interpolate(img[None], scale_factor=2, mode='nearest-exact')",
    "F.interpolate(img, size=(3, 3), mode='area')", "F.interpolate(img, size=(1, 1), mode='area')",
    "F.interpolate(img[0], size=3, mode='area')",
    "F.adaptive_avg_pool2d(img, 2)", "F.adaptive_avg_pool2d(img, (3, None))", "F.adaptive_avg_pool2d(img, 1)",
    "F.adaptive_avg_pool2d(img[0], 2)", "F.adaptive_avg_pool1d(img[0], 3)", "F.adaptive_avg_pool3d(img[None], 2)",
    "F.adaptive_avg_pool3d(img[None], 1)", "F.adaptive_max_pool2d(img, 2)", "F.adaptive_max_pool2d(img, 1)",
    "F.adaptive_max_pool1d(img[0], 3)", "F.adaptive_max_pool3d(img[None], (1, 2, 3))",
    "F.adaptive_max_pool2d(img, 2, return_indices=True)",
    "F.layer_norm(img, (4, 4))", "F.layer_norm(img, (4,))", "F.layer_norm(x, (3,), bvec.repeat(2)[:3])",
    "F.layer_norm(x, (3,), None, bvec.repeat(2)[:3])", "F.layer_norm(img, (4, 4), img[0, 0], img[0, 1])",
    "F.group_norm(img, 1)", "F.group_norm(img, 2, a2)", "F.group_norm(img, 2, None, a2)",
    "F.group_norm(img, 1, a2, a2)",
    "F.bilinear(x, x, w3, bvec)", "F.bilinear(x, x, w3)", "F.bilinear(b3, b3, w3, bvec)", "F.bilinear(b3, b3, w3)",
    "F.bilinear(x[0], x[1], w3, bvec)",
    "lib.nn.LayerNorm(4)(img)", "lib.nn.GroupNorm(1, 2)(img)", "lib.nn.Upsample(scale_factor=2)(img)",
    "lib.nn.AdaptiveAvgPool2d(1)(img)", "lib.nn.CELU()(x)", "lib.nn.Bilinear(3, 3, 2)(x, y)",
    # modules
    "lib.nn.Linear(3, 2)(x)", "lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.ReLU(), lib.nn.Linear(4, 2))(x)",
    "lib.nn.Conv2d(2, 3, 3)(img)", "lib.nn.Flatten()(img)", "lib.nn.BatchNorm2d(2)(img)",
]

def _inputs(lib):
    rng = np.random.default_rng(0)

    def leaf(*shape):
        return lib.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)

    return dict(lib=lib, F=lib.nn.functional, x=leaf(2, 3), y=leaf(2, 3), w=leaf(3, 2), bvec=leaf(2),
                b3=leaf(4, 2, 3), w3=leaf(2, 3, 3), img=leaf(1, 2, 4, 4), img4=leaf(1, 4, 2, 2), k=leaf(3, 2, 2, 2),
                a2=leaf(2), idx=lib.tensor([[0, 1, 0]]), ivec=lib.tensor([2, 0]), tgt=lib.tensor([0, 2]),
                tgt2d=lib.zeros(1, 4, 4, dtype=lib.int64), rm=lib.zeros(2), rv=lib.ones(2), torch=torch)


def _result(lib, expression):
    lib.manual_seed(0)
    out = eval(expression, _inputs(lib))
    return out[0] if isinstance(out, tuple) else out


@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_node_name_is_torchs(expression):
    t = _result(torch, expression)
    j = _result(juanji, expression)
    expected = type(t.grad_fn).__name__
    assert type(j.grad_fn).__name__ == expected
    # (torch's CopySlices node says "torch::autograd::CopySlices" as its name(); juanji's says CopySlices)
    assert j.grad_fn.name() == t.grad_fn.name().replace("torch::autograd::", "") == expected
    printed = re.search(r"grad_fn=<(\w+)>", repr(j)).group(1)
    assert printed == re.search(r"grad_fn=<(\w+)>", repr(t)).group(1) == expected


@pytest.mark.parametrize("expression,torch_name", [
    ("lib.einsum('ij,jk->ik', x, w)", "ViewBackward0"),
    ("x.repeat_interleave(2, 0)", "ViewBackward0"),
    ("x.nansum()", "NansumBackward0"),
    ("x.clamp_min(y)", "ClampMinBackward1"),              # juanji/_tensor/pointwise.py: torch's Tensor overload
    ("x.clamp_max(y)", "ClampMaxBackward1"),
    ("lib.var_mean(x)[0]", "VarMeanBackward0"),
])
@pytest.mark.xfail(strict=True, reason="juanji computes these another way (in nn.functional or as a composite), "
                                       "so the last node is named after juanji's operation")
def test_node_names_that_still_differ(expression, torch_name):
    assert type(_result(torch, expression).grad_fn).__name__ == torch_name  # the pin is right
    assert type(_result(juanji, expression).grad_fn).__name__ == torch_name


def test_in_place_operations_leave_torchs_node_names():
    def names(lib):
        x = lib.ones(2, 3, requires_grad=True)
        edits = [lambda y: y.fill_(2.0), lambda y: y.zero_(), lambda y: y.copy_(x.detach()),
                 lambda y: y.copy_(x * 2), lambda y: y.__setitem__(0, 5.0), lambda y: y.__setitem__([0], 5.0),
                 lambda y: y.__setitem__(y > 0, 5.0), lambda y: y.__setitem__((0, [0, 1]), 5.0),
                 lambda y: y.__setitem__(Ellipsis, 1.0), lambda y: y.__setitem__(slice(None), lib.ones(3)),
                 lambda y: y.clamp_(0, 1), lambda y: y.add_(1), lambda y: y.mul_(x), lambda y: y.relu_(),
                 lambda y: y.masked_fill_(y > 0, 0.0), lambda y: y.lerp_(x, 0.5), lambda y: y.unsqueeze_(0),
                 lambda y: y.unsqueeze_(0).squeeze_(), lambda y: y.unsqueeze_(0).squeeze_(0),
                 lambda y: y.unsqueeze_(0).squeeze_((0,)), lambda y: y.t_()]
        out = []
        for edit in edits:
            y = x * 1
            edit(y)
            out.append(type(y.grad_fn).__name__)
        return out

    assert names(juanji) == names(torch)


def test_custom_function_nodes_are_named_like_torchs():
    def run(lib):
        class MyFn(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                return x * 2

            @staticmethod
            def backward(ctx, g):
                return g * 2

        y = MyFn.apply(lib.ones(2, requires_grad=True))
        node = y.grad_fn
        return [repr(y), node.name(), type(node).__name__, type(node).__qualname__, type(node).__module__,
                re.sub(r" at 0x[0-9a-f]+", "", repr(node)), MyFn._backward_cls is type(node)]

    j, t = run(juanji), run(torch)
    assert [str(v).replace("juanji", "torch") for v in j] == [str(v) for v in t]


def test_node_reprs_look_like_torchs():
    def run(lib):
        x = lib.ones(2, requires_grad=True)
        return re.sub(r"0x[0-9a-f]+", "ADDRESS", repr((x * 2).grad_fn))

    assert run(juanji) == run(torch) == "<MulBackward0 object at ADDRESS>"


class _Twice(Op):
    def forward(self, x):
        return x * 2

    def backward(self, g):
        return (g * 2,)


class _Picky(Op):
    calls = 0

    @staticmethod
    def node_name_for(x, scale):
        _Picky.calls += 1
        return "BigBackward0" if scale > 1 else "SmallBackward0"

    def forward(self, x, scale):
        self.scale = scale
        return x * scale

    def backward(self, g):
        return g * self.scale, None


def test_an_op_is_named_after_its_class_unless_it_says_otherwise():
    x = juanji.ones(2, requires_grad=True)
    node = _Twice.apply(x).grad_fn
    assert type(node).__name__ == node.name() == "_TwiceBackward0"
    assert type(node).__qualname__ == "_Twice"  # how the class prints: findable in the code
    assert juanji.ops.shape.Reshape.__name__ == "ViewBackward0" and juanji.ops.shape.Reshape.__qualname__ == "Reshape"


def test_variants_are_made_once_and_are_the_same_op():
    twice = _Twice.variant("TwiceBackward7")
    assert _Twice.variant("TwiceBackward7") is twice and issubclass(twice, _Twice)
    assert twice.__name__ == "TwiceBackward7" and twice.__qualname__ == "_Twice"
    assert twice.variant("OtherBackward0") is _Twice.variant("OtherBackward0")  # one table per Op
    x = juanji.tensor([1.0, 2.0], requires_grad=True)
    y = twice.apply(x)
    y.sum().backward()
    assert type(y.grad_fn) is twice and x.grad.tolist() == [2.0, 2.0]


def test_node_name_for_picks_the_name_per_call_and_only_when_recording():
    x = juanji.ones(2, requires_grad=True)
    before = _Picky.calls
    assert type(_Picky.apply(x, 3.0).grad_fn).__name__ == "BigBackward0"
    assert type(_Picky.apply(x, 0.5).grad_fn).__name__ == "SmallBackward0"
    assert _Picky.calls == before + 2
    with juanji.no_grad():
        assert _Picky.apply(x, 3.0).grad_fn is None
    assert _Picky.apply(juanji.ones(2), 3.0).grad_fn is None
    assert _Picky.calls == before + 2  # nothing recorded: no name needed
    y = _Picky.apply(x, 3.0)
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
