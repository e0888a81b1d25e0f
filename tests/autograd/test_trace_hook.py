"""The tracing hook in Op.apply (what juanji.onnx.export builds on): it sees every Op applied,
with the positional inputs (Tensors and other values), the keyword parameters and the result, whether or not a graph is recorded."""

import juanji
from juanji.autograd import function


def _record(calls):
    def hook(op, inputs, params, result):
        calls.append((type(op).__name__, inputs, params, result))
    return hook


def test_hook_sees_each_op_with_inputs_params_and_result():
    calls = []
    x = juanji.ones(2, 3, requires_grad=True)
    function._trace_hook = _record(calls)
    try:
        y = (x * 2).sum(1)
        with juanji.no_grad():
            z = x.reshape(3, 2)
    finally:
        function._trace_hook = None
    names = [c[0] for c in calls]
    assert names == ["MulBackward0", "SumBackward1", "ViewBackward0"]
    assert calls[0][1][0] is x and calls[0][3] is not None
    assert calls[1][3] is y and calls[2][3] is z
    assert calls[2][1][1] == (3, 2)  # positional non-Tensor arguments come as given
    assert calls[0][2] == {}


def test_hook_off_by_default_records_nothing():
    assert function._trace_hook is None
