"""torch.utils.model_zoo and torch.utils.checkpoint, which real model files import at their top
(EfficientNet-style collections: ``from torch.utils import model_zoo``; densely connected nets:
``import torch.utils.checkpoint as cp``): they import under the torch swap, and checkpointed
blocks give torch's values and gradients."""

import warnings

import numpy as np
import pytest

import juanji

torch = pytest.importorskip("torch")


def test_the_modules_import_under_the_swap():
    with juanji.install_as_torch():
        import torch as swapped
        from torch.utils import model_zoo
        import torch.utils.checkpoint as cp
        assert swapped is juanji
        assert model_zoo.load_url is juanji.hub.load_state_dict_from_url
        assert callable(cp.checkpoint) and callable(cp.checkpoint_sequential)


def _block(lib):
    lib.manual_seed(0)
    return lib.nn.Sequential(lib.nn.Conv2d(3, 4, 3, padding=1), lib.nn.BatchNorm2d(4), lib.nn.ReLU(),
                             lib.nn.Conv2d(4, 2, 1))


def _checkpoint_module(lib):
    return __import__(f"{lib.__name__}.utils.checkpoint", fromlist=["checkpoint"])


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_a_checkpointed_block_gives_torchs_values_and_gradients(use_reentrant):
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 5))
    torch_block = _block(torch).double()
    results = {}
    for name, lib in (("torch", torch), ("juanji", juanji)):
        block = torch_block if lib is torch else _block(juanji).double()
        if lib is juanji:  # the same weights
            for mine, theirs in zip(block.parameters(), torch_block.parameters()):
                mine.data = juanji.tensor(theirs.detach().numpy())
        inp = lib.tensor(x, requires_grad=True)
        out = _checkpoint_module(lib).checkpoint(block, inp, use_reentrant=use_reentrant)
        (out * out).sum().backward()
        results[name] = [out.detach().numpy(), inp.grad.numpy()] + [p.grad.numpy() for p in block.parameters()]
    for got, want in zip(results["juanji"], results["torch"]):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_checkpoint_sequential_runs_the_modules_in_order():
    x = np.random.default_rng(1).standard_normal((2, 3, 4, 4))
    block_t = _block(torch).double()
    block_j = _block(juanji).double()
    for mine, theirs in zip(block_j.parameters(), block_t.parameters()):
        mine.data = juanji.tensor(theirs.detach().numpy())
    from torch.utils.checkpoint import checkpoint_sequential as torch_seq
    from juanji.utils.checkpoint import checkpoint_sequential as juanji_seq
    want = torch_seq(block_t, 2, torch.tensor(x, requires_grad=True), use_reentrant=False)
    got = juanji_seq(block_j, 2, juanji.tensor(x, requires_grad=True), use_reentrant=False)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12)
    with pytest.raises(ValueError):
        juanji_seq(block_j, 0, juanji.tensor(x))


def test_checkpoint_argument_rules_follow_torchs():
    f = lambda a, scale=1.0: a * scale  # noqa: E731
    for lib in (juanji, torch):
        cp = _checkpoint_module(lib)
        x = lib.ones(2, requires_grad=True)
        with pytest.warns(UserWarning, match="use_reentrant"):
            cp.checkpoint(f, x)
        with pytest.raises(ValueError, match="Unexpected keyword arguments"):
            cp.checkpoint(f, x, use_reentrant=True, scale=2.0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert float(cp.checkpoint(f, x, use_reentrant=False, scale=2.0).detach().sum()) == 4.0
