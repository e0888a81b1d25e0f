"""Elementwise operations written in a forward (no module of their own) keep the receptive field:
the tracer walks back through them by their autograd node names, which are torch's
(``1 - x`` is RsubBackward1, ``F.prelu`` PreluKernelBackward0, ``x.clamp_min(0)``
ClampMinBackward0, ...). Two 3x3 convolutions with padding 1 around any of them see 5x5."""

import pytest

import juanji
from juanji import nn
from juanji.explain import summary
from juanji.explain._trace import _GEOMETRY_KEEPING_OPS, _op_name

F = nn.functional
PRELU_WEIGHT = juanji.full((1,), 0.25)

# name -> f(x), x the first convolution's output (1 channel)
ELEMENTWISE = {
    "1 - x": lambda x: 1 - x,
    "prelu": lambda x: F.prelu(x, PRELU_WEIGHT),
    "clamp(min=0)": lambda x: x.clamp(min=0),
    "clamp_min": lambda x: x.clamp_min(0.1),
    "clamp_max": lambda x: x.clamp_max(0.1),
    "clamp(tensor bound)": lambda x: x.clamp(min=x * 0.5),
    "reciprocal": lambda x: (x * x + 1).reciprocal(),
    "expm1": lambda x: x.expm1(),
    "log2": lambda x: (x.abs() + 1).log2(),
    "log10": lambda x: (x.abs() + 1).log10(),
    "tan": lambda x: x.tan(),
    "frac": lambda x: x.frac(),
    "lerp": lambda x: x.lerp(x * 2, 0.3),
    "celu": lambda x: F.celu(x, alpha=2.0),
    "celu(alpha=1)": lambda x: F.celu(x),
    "sin": lambda x: x.sin(),
    "sign": lambda x: x.sign() * x,
    "floor": lambda x: x.floor() + x,
    "remainder": lambda x: x % 0.5,
    "clone": lambda x: x.clone(),
}


class _ConvOpConv(nn.Module):
    def __init__(self, op):
        super().__init__()
        self.first = nn.Conv2d(1, 1, 3, padding=1)
        self.second = nn.Conv2d(1, 1, 3, padding=1)
        self.op = op

    def forward(self, x):
        return self.second(self.op(self.first(x)))


@pytest.mark.parametrize("op", list(ELEMENTWISE.values()), ids=list(ELEMENTWISE))
def test_an_elementwise_op_between_convolutions_keeps_the_field(op):
    result = summary(_ConvOpConv(op), (1, 8, 8))
    rows = {r["name"]: r["receptive_field"] for r in result.rows}
    assert rows["first"] == {"size": (3, 3), "jump": (1, 1), "start": (0, 0)}
    assert rows["second"] == {"size": (5, 5), "jump": (1, 1), "start": (0, 0)}
    assert result.totals["receptive_field"] == {"size": (5, 5), "jump": (1, 1), "start": (0, 0)}


@pytest.mark.parametrize("op", list(ELEMENTWISE.values()), ids=list(ELEMENTWISE))
def test_the_last_node_of_each_op_is_one_the_walk_knows(op):
    # the names the walk looks for are the ones the Ops carry (a rename would break the walk)
    x = juanji.ones(1, 1, 4, 4, requires_grad=True) * 0.3
    assert _op_name(op(x).grad_fn) in _GEOMETRY_KEEPING_OPS


def test_a_geometry_changing_op_between_convolutions_still_makes_the_field_unknown():
    rows = {r["name"]: r["receptive_field"] for r in
            summary(_ConvOpConv(lambda x: F.avg_pool2d(x, 2)), (1, 8, 8)).rows}
    assert rows["first"] is not None and rows["second"] is None
