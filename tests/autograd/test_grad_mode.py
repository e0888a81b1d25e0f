"""no_grad / enable_grad / set_grad_enabled / inference_mode: as context managers, decorators and
(set_grad_enabled) a plain call, nested, restored after exceptions."""

import pytest

import juanji


@pytest.fixture(autouse=True)
def _restore_grad_mode():
    yield
    juanji.set_grad_enabled(True)


def _records(x):
    return (x * 2).requires_grad


def test_no_grad_context_records_nothing_and_restores():
    x = juanji.ones(2, requires_grad=True)
    with juanji.no_grad():
        assert not juanji.is_grad_enabled()
        y = x * 2
        assert not y.requires_grad and y.grad_fn is None
    assert juanji.is_grad_enabled() and _records(x)


def test_enable_grad_inside_no_grad():
    x = juanji.ones(2, requires_grad=True)
    with juanji.no_grad():
        with juanji.enable_grad():
            assert _records(x)
        assert not _records(x)


def test_decorators_with_and_without_parentheses():
    x = juanji.ones(2, requires_grad=True)

    @juanji.no_grad()
    def f(t):
        return t * 2

    @juanji.enable_grad()
    def g(t):
        return t * 2

    @juanji.set_grad_enabled(False)
    def h(t):
        return t * 2

    @juanji.inference_mode()
    def k(t):
        return t * 2

    assert not f(x).requires_grad and not h(x).requires_grad and not k(x).requires_grad
    with juanji.no_grad():
        assert g(x).requires_grad
    assert juanji.is_grad_enabled()
    assert f.__name__ == "f"  # functools.wraps keeps the name


def test_set_grad_enabled_as_a_call_and_as_a_context():
    x = juanji.ones(2, requires_grad=True)
    juanji.set_grad_enabled(False)
    assert not _records(x)
    juanji.set_grad_enabled(True)
    assert _records(x)
    with juanji.set_grad_enabled(False):
        assert not _records(x)
    assert _records(x)
    is_train = False
    with juanji.set_grad_enabled(is_train):
        assert not _records(x)


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(ValueError):
        with juanji.no_grad():
            raise ValueError("boom")
    assert juanji.is_grad_enabled()

    @juanji.no_grad()
    def failing():
        raise KeyError("x")

    with pytest.raises(KeyError):
        failing()
    assert juanji.is_grad_enabled()


def test_inference_mode_false_keeps_recording():
    x = juanji.ones(2, requires_grad=True)
    with juanji.inference_mode(False):
        assert _records(x)
    with juanji.inference_mode():
        assert not _records(x)


def test_decorated_generator_function_is_not_required_but_nested_calls_work():
    x = juanji.ones(2, requires_grad=True)

    @juanji.no_grad()
    def outer():
        return inner()

    @juanji.enable_grad()
    def inner():
        return x * 2

    assert outer().requires_grad
    assert juanji.is_grad_enabled()


def test_autograd_module_exposes_the_same_modes():
    assert juanji.autograd.no_grad is juanji.no_grad
    assert juanji.autograd.set_grad_enabled is juanji.set_grad_enabled


def test_bare_decorator_without_parentheses_like_torch():
    x = juanji.ones(2, requires_grad=True)

    @juanji.no_grad
    def f(t):
        return t * 2

    assert not f(x).requires_grad and juanji.is_grad_enabled()


def test_one_context_object_can_be_nested():
    x = juanji.ones(2, requires_grad=True)
    ctx = juanji.no_grad()
    with juanji.enable_grad():
        with ctx:
            with juanji.enable_grad():
                with ctx:
                    assert not _records(x)
                assert _records(x)
            assert not _records(x)
        assert _records(x)
