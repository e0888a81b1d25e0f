"""d2l's softmax-regression and MLP chapters run unchanged on juanji and follow PyTorch step for
step on the Fashion-MNIST sample from the same initial weights (``examples/d2l_softmax_mlp.py``);
dropout, whose masks come from each library's own generator, is compared by its statistics."""

import numpy as np
import pytest

import juanji
from tests.test_compat_support import assert_same, load_example, torch_or_skip

example = load_example("d2l_softmax_mlp")
common = load_example("d2l_common")

N_TRAIN, N_TEST = 512, 256
DATA = common.fashion_sample(N_TRAIN, N_TEST)


def _both(fn, **kwargs):
    """Run ``fn`` on juanji (shuffle off), then on torch from the juanji run's initial weights."""
    torch = torch_or_skip()
    juanji.manual_seed(0)  # the same initial weights every run
    j = fn(juanji, DATA, shuffle=False, **kwargs)
    t = fn(torch, DATA, shuffle=False, init_state=j["initial_state"], **kwargs)
    return j, t


def _assert_same_training(j, t, loss_rtol=1e-4):
    """Same initial weights and losses; accuracies may differ by a near-tie argmax or two."""
    assert_same(j["initial_state"], t["initial_state"])
    assert_same(j["step_losses"], t["step_losses"], path="step_losses", rtol=loss_rtol, atol=1e-6)
    for epoch, (jh, th) in enumerate(zip(j["history"], t["history"])):
        assert jh[0] == pytest.approx(th[0], rel=loss_rtol), f"epoch {epoch}: train loss"
        assert abs(jh[1] - th[1]) <= 2 / N_TRAIN, f"epoch {epoch}: train accuracy {jh[1]} vs {th[1]}"
        assert abs(jh[2] - th[2]) <= 2 / N_TEST, f"epoch {epoch}: test accuracy {jh[2]} vs {th[2]}"


@pytest.mark.parametrize("fn, lr", [(example.softmax_regression_scratch, 0.1),
                                    (example.softmax_regression_concise, 0.1),
                                    (example.mlp_scratch, 0.5), (example.mlp_concise, 0.5)],
                         ids=["softmax_regression_scratch", "softmax_regression_concise", "mlp_scratch", "mlp_concise"])
def test_training_follows_torch_step_for_step(fn, lr):
    j, t = _both(fn, lr=lr)
    _assert_same_training(j, t)
    # it learns: the loss falls and the test accuracy is well above chance (10 classes, 4 steps an epoch)
    assert j["step_losses"][-1] < j["step_losses"][0] - 0.05 and j["history"][-1][2] > 0.2
    if "final_state" in j:
        assert_same(j["final_state"], t["final_state"], rtol=1e-3, atol=1e-5)


def test_mlp_scratch_parameters_are_parameters():
    j, t = _both(example.mlp_scratch, num_epochs=1)
    assert j["leaf types"] == t["leaf types"] == ["Parameter"] * 4


def test_dropout_net_without_dropping_follows_torch():
    j, t = _both(example.mlp_dropout, dropout1=0.0, dropout2=0.0)
    _assert_same_training(j, t)
    assert j["repr"].replace("juanji", "torch") == t["repr"]


def test_dropout_net_trains_like_torch():
    """With dropout the masks differ (each library's generator): compare where training ends."""
    torch = torch_or_skip()
    juanji.manual_seed(0)
    torch.manual_seed(0)
    j = example.mlp_dropout(juanji, DATA, num_epochs=3, shuffle=False)
    t = example.mlp_dropout(torch, DATA, num_epochs=3, shuffle=False, init_state=j["initial_state"])
    assert j["eval outputs are deterministic"] and t["eval outputs are deterministic"]
    j_loss, t_loss = j["history"][-1][0], t["history"][-1][0]
    assert j_loss < j["history"][0][0] and abs(j_loss - t_loss) < 0.25 * t_loss
    assert j["step_losses"][0] == pytest.approx(t["step_losses"][0], rel=0.05)  # weights equal, masks differ


@pytest.mark.parametrize("p", [0.0, 0.2, 0.5, 0.8, 1.0])
def test_dropout_from_scratch_keeps_the_expectation(p):
    juanji.manual_seed(0)
    X = juanji.ones((200, 100))
    Y = example.dropout_layer(juanji, X, p)
    kept = (Y != 0).float().mean().item()
    assert kept == pytest.approx(1 - p, abs=0.02)
    assert Y.mean().item() == pytest.approx(1.0 if p < 1 else 0.0, abs=0.05)
    if 0 < p < 1:
        values = np.unique(Y.numpy())
        assert len(values) == 2 and values[0] == 0.0 and values[1] == pytest.approx(1 / (1 - p))


def test_dropout_module_in_train_and_eval_mode():
    torch = torch_or_skip()
    for lib in (juanji, torch):
        lib.manual_seed(0)
        layer = lib.nn.Dropout(0.5)
        X = lib.ones((100, 100))
        layer.eval()
        assert lib.equal(layer(X), X)
        layer.train()
        Y = layer(X)
        assert set(np.unique(Y.numpy()).tolist()) == {0.0, 2.0}
        assert abs((Y == 0).float().mean().item() - 0.5) < 0.03


def test_accuracy_counts_correct_predictions():
    torch = torch_or_skip()
    y_hat = [[0.1, 0.3, 0.6], [0.3, 0.2, 0.5], [0.7, 0.2, 0.1]]
    y = [0, 2, 0]
    assert example.accuracy(juanji.tensor(y_hat), juanji.tensor(y)) == 2.0
    assert example.accuracy(torch.tensor(y_hat), torch.tensor(y)) == 2.0
    assert example.accuracy_as_in_the_book(torch.tensor(y_hat), torch.tensor(y)) == 2.0


def test_accuracy_as_written_in_the_book():
    """d2l writes y_hat.argmax(axis=1)."""
    assert example.accuracy_as_in_the_book(juanji.tensor([[0.1, 0.9], [0.8, 0.2]]), juanji.tensor([1, 1])) == 1.0


def test_softmax_and_cross_entropy_by_hand_match_the_library():
    torch = torch_or_skip()

    def run(lib):
        X = lib.tensor(np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32), requires_grad=True)
        y = lib.tensor([0, 4, 2, 2])
        X_exp = lib.exp(X)
        y_hat = X_exp / X_exp.sum(1, keepdim=True)
        by_hand = - lib.log(y_hat[range(len(y_hat)), y])
        library = lib.nn.CrossEntropyLoss(reduction='none')(X, y)
        (by_hand.sum() + 2 * library.sum()).backward()
        return [y_hat.sum(1), by_hand, library, X.grad]

    j, t = run(juanji), run(torch)
    assert_same(j, t)
    np.testing.assert_allclose(j[1].detach().numpy(), j[2].detach().numpy(), rtol=1e-5)


def test_init_weights_via_apply():
    torch = torch_or_skip()
    for lib in (juanji, torch):
        lib.manual_seed(0)
        net = lib.nn.Sequential(lib.nn.Flatten(), lib.nn.Linear(784, 256), lib.nn.ReLU(), lib.nn.Linear(256, 10))
        assert net.apply(lambda m: example.init_weights(lib, m)) is net
        weight = net[1].weight.detach().numpy()
        assert weight.std() == pytest.approx(0.01, rel=0.02) and abs(weight.mean()) < 1e-3
        # apply leaves the biases alone: PyTorch's default init, U(-1/sqrt(784), 1/sqrt(784))
        assert np.abs(net[1].bias.detach().numpy()).max() <= 1 / 28
