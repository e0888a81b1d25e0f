"""``kernels.kept``: work made from a weight, kept while the weight keeps its bits."""

import threading

import numpy as np

from juanji.kernels import kept as K


def test_kept_is_made_once_per_weight_state_and_accounted():
    K.forget()
    made = []
    w = np.arange(12, dtype=np.float32).reshape(3, 4)
    try:
        first = K.kept("double", w, lambda a: made.append(1) or a * 2)
        assert K.kept("double", w, lambda a: made.append(1) or a * 2) is first and len(made) == 1
        assert K.kept("triple", w, lambda a: made.append(1) or a * 3)[0, 1] == 3.0 and len(made) == 2  # another kind
        w[0, 0] = np.nan  # NaN differs from itself as a number, not as bits: kept
        again = K.kept("double", w, lambda a: made.append(1) or a * 2)
        assert np.isnan(again[0, 0]) and len(made) == 3
        assert K.kept("double", w, lambda a: made.append(1) or a * 2) is again and len(made) == 3
        assert K.held_bytes() == sum(entry[2] for entry in K._kept.values()) == 2 * (w.nbytes + w.nbytes)
    finally:
        K.forget()
    assert K.held_bytes() == 0 and not K._kept


def test_kept_from_several_threads_keeps_its_accounts():
    """Threads asking for the same weight at once (several may make it while another puts its own back):
    every answer is right, one entry stays, and the bytes held are those of the entries kept."""
    import time
    K.forget()
    w = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)
    wrong = []

    def make(a):
        time.sleep(0.0005)  # (a slow make: the others reach the cache meanwhile)
        return np.array([a.sum(dtype=np.float64)])

    def ask(want):
        for _ in range(40):
            got = K.kept("sum", w, make)
            if got[0] != want:
                wrong.append((got[0], want))
    try:
        for round_ in range(3):
            want = w.sum(dtype=np.float64)
            threads = [threading.Thread(target=ask, args=(want,)) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not wrong and len(K._kept) == 1
            assert K.held_bytes() == sum(entry[2] for entry in K._kept.values()) == w.nbytes + 8
            w[round_, 0] += 1.0  # between rounds: the next round makes it again
    finally:
        K.forget()
