"""Every collective on K ranks against the same reduction done in NumPy on every rank's data.

Each rank can rebuild every other rank's input (``data(rank, ...)``), so it checks its own
result without trusting MPI. Prints ``ok <name>`` per check; any failure raises (and ends the job).
"""

import datetime

import numpy as np

import juanji as torch
import juanji.distributed as dist
from juanji.distributed.collectives import buffer_of

dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=60))
R, K = dist.get_rank(), dist.get_world_size()
DTYPES = {"float32": (np.float32, torch.float32), "float64": (np.float64, torch.float64),
          "int64": (np.int64, torch.int64)}


def data(rank, shape, np_dtype, salt=0):
    rng = np.random.default_rng(1000 * salt + rank)
    if np.dtype(np_dtype).kind == "f":
        return rng.standard_normal(shape).astype(np_dtype)
    return rng.integers(-5, 6, size=shape).astype(np_dtype)


def everyone(shape, np_dtype, salt=0):
    return np.stack([data(r, shape, np_dtype, salt) for r in range(K)])


def same(got, want, name):
    got = got.numpy() if hasattr(got, "numpy") else np.asarray(got)
    if want.dtype.kind == "f":
        tol = 1e-6 if want.dtype == np.float32 else 1e-14
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=name)
    else:
        np.testing.assert_array_equal(got, want, err_msg=name)
    assert got.dtype == want.dtype, (name, got.dtype, want.dtype)


def ok(name):
    dist.barrier()
    if R == 0:
        print("ok", name, flush=True)


REDUCE = {dist.ReduceOp.SUM: lambda a: a.sum(0), dist.ReduceOp.PRODUCT: lambda a: a.prod(0),
          dist.ReduceOp.MIN: lambda a: a.min(0), dist.ReduceOp.MAX: lambda a: a.max(0),
          dist.ReduceOp.AVG: lambda a: a.sum(0) / K}

# ---- all_reduce: every op and dtype, in place, zero-copy; a non-contiguous tensor; async
for dname, (nd, td) in DTYPES.items():
    for op, f in REDUCE.items():
        if op is dist.ReduceOp.AVG and dname == "int64":
            continue
        t = torch.tensor(data(R, (3, 5), nd), dtype=td)
        arr = t._data
        assert buffer_of(t) is arr  # contiguous: MPI works on the tensor's own memory
        assert dist.all_reduce(t, op=op) is None
        assert t._data is arr
        same(t, f(everyone((3, 5), nd)).astype(nd), f"all_reduce {op} {dname}")
for op in (dist.ReduceOp.BAND, dist.ReduceOp.BOR, dist.ReduceOp.BXOR):
    t = torch.tensor(data(R, (7,), np.int64) + 5)
    dist.all_reduce(t, op=op)
    want = {dist.ReduceOp.BAND: np.bitwise_and, dist.ReduceOp.BOR: np.bitwise_or,
            dist.ReduceOp.BXOR: np.bitwise_xor}[op].reduce(everyone((7,), np.int64) + 5)
    same(t, want, f"all_reduce {op}")
base = torch.tensor(data(R, (4, 6), np.float64))
view = base.t()  # non-contiguous: staged through a copy, written back
assert buffer_of(view) is not view._data
dist.all_reduce(view)
same(view, everyone((4, 6), np.float64).sum(0).T, "all_reduce non-contiguous")
flags = torch.tensor(np.array([R == 0, True, False]))
dist.all_reduce(flags)  # bool: SUM is a logical or
same(flags, np.array([True, True, False]), "all_reduce bool")
t = torch.tensor(data(R, (1000,), np.float32))
work = dist.all_reduce(t, async_op=True)
assert work.wait() is True and work.is_completed() and work.is_success() and work.exception() is None
assert work.result()[0] is t
same(t, everyone((1000,), np.float32).sum(0), "all_reduce async")
ok("all_reduce")

# ---- broadcast from every source
for src in range(K):
    for dname, (nd, td) in DTYPES.items():
        t = torch.tensor(data(R, (2, 3), nd), dtype=td)
        dist.broadcast(t, src=src)
        same(t, data(src, (2, 3), nd), f"broadcast src={src} {dname}")
ok("broadcast")

# ---- reduce to every destination
for dst in range(K):
    t = torch.tensor(data(R, (5,), np.float64))
    dist.reduce(t, dst=dst, op=dist.ReduceOp.MAX)
    same(t, everyone((5,), np.float64).max(0) if R == dst else data(R, (5,), np.float64), f"reduce dst={dst}")
    t = torch.tensor(data(R, (5,), np.float32))
    dist.reduce(t, dst, dist.ReduceOp.AVG)
    if R == dst:
        same(t, everyone((5,), np.float32).sum(0) / K, "reduce avg")
ok("reduce")

# ---- all_gather (list) and all_gather_into_tensor (concatenated and stacked)
for dname, (nd, td) in DTYPES.items():
    outs = [torch.zeros(2, 3, dtype=td) for _ in range(K)]
    dist.all_gather(outs, torch.tensor(data(R, (2, 3), nd), dtype=td))
    for i in range(K):
        same(outs[i], data(i, (2, 3), nd), f"all_gather {dname}")
    cat = torch.zeros(2 * K, 3, dtype=td)
    dist.all_gather_into_tensor(cat, torch.tensor(data(R, (2, 3), nd), dtype=td))
    same(cat, np.concatenate([data(i, (2, 3), nd) for i in range(K)]), f"all_gather_into_tensor {dname}")
    stacked = torch.zeros(K, 2, 3, dtype=td)
    work = dist.all_gather_into_tensor(stacked, torch.tensor(data(R, (2, 3), nd), dtype=td), async_op=True)
    work.wait()
    same(stacked, everyone((2, 3), nd), f"all_gather_into_tensor stacked {dname}")
ok("all_gather")

# ---- reduce_scatter (list) and reduce_scatter_tensor
for op in (dist.ReduceOp.SUM, dist.ReduceOp.MAX, dist.ReduceOp.AVG):
    f = REDUCE[op]
    inputs = [torch.tensor(data(R, (4,), np.float64, salt=i)) for i in range(K)]
    out = torch.zeros(4, dtype=torch.float64)
    dist.reduce_scatter(out, inputs, op=op)
    same(out, f(np.stack([data(r, (4,), np.float64, salt=R) for r in range(K)])), f"reduce_scatter {op}")
    big = torch.tensor(data(R, (K * 3, 2), np.float32))
    out = torch.zeros(3, 2)
    dist.reduce_scatter_tensor(out, big, op=op)
    same(out, f(everyone((K * 3, 2), np.float32))[3 * R:3 * R + 3].astype(np.float32), f"reduce_scatter_tensor {op}")
ok("reduce_scatter")

# ---- gather / scatter with every root
for root in range(K):
    mine = torch.tensor(data(R, (3,), np.int64))
    lst = [torch.zeros(3, dtype=torch.int64) for _ in range(K)] if R == root else None
    dist.gather(mine, lst, dst=root)
    if R == root:
        for i in range(K):
            same(lst[i], data(i, (3,), np.int64), "gather")
    out = torch.zeros(2, 2, dtype=torch.float64)
    chunks = [torch.tensor(data(root, (2, 2), np.float64, salt=i)) for i in range(K)] if R == root else None
    dist.scatter(out, chunks, src=root)
    same(out, data(root, (2, 2), np.float64, salt=R), "scatter")
ok("gather_scatter")

# ---- all_to_all_single
inp = torch.tensor(data(R, (K * 2,), np.float64))
out = torch.zeros(K * 2, dtype=torch.float64)
dist.all_to_all_single(out, inp)
same(out, np.concatenate([data(i, (K * 2,), np.float64)[2 * R:2 * R + 2] for i in range(K)]), "all_to_all_single")
ok("all_to_all_single")

# ---- point to point: a ring
t = torch.tensor(data(R, (4,), np.float32))
got = torch.zeros(4)
if R % 2 == 0:
    dist.send(t, dst=(R + 1) % K)
    src = dist.recv(got, src=(R - 1) % K)
else:
    src = dist.recv(got)  # from any rank
    dist.send(t, dst=(R + 1) % K)
assert src == (R - 1) % K, src
same(got, data((R - 1) % K, (4,), np.float32), "send/recv")
ok("send_recv")

# ---- objects
objs = [None] * K
dist.all_gather_object(objs, {"rank": R, "name": "r" * (R + 1)})
assert objs == [{"rank": i, "name": "r" * (i + 1)} for i in range(K)], objs
lst = [R, "x", None] if R == K - 1 else [None, None, None]
dist.broadcast_object_list(lst, src=K - 1)
assert lst == [K - 1, "x", None], lst
gathered = [None] * K if R == 0 else None
dist.gather_object(("g", R), gathered, dst=0)
if R == 0:
    assert gathered == [("g", i) for i in range(K)], gathered
slot = [None]
dist.scatter_object_list(slot, [f"s{i}" for i in range(K)] if R == 0 else None, src=0)
assert slot == [f"s{R}"], slot
ok("objects")

# ---- sub-groups: ranks as torch numbers them; collectives inside; non-members do nothing
members = [K - 1, 0]  # torch sorts them: group ranks follow the global order
g = dist.new_group(members)
if R in members:
    assert dist.get_rank(g) == sorted(members).index(R) and dist.get_world_size(g) == 2
    assert dist.get_process_group_ranks(g) == sorted(members)
    assert dist.get_global_rank(g, 1) == K - 1 and dist.get_group_rank(g, K - 1) == 1
    t = torch.tensor(data(R, (3,), np.float64))
    dist.all_reduce(t, group=g)
    same(t, data(0, (3,), np.float64) + data(K - 1, (3,), np.float64), "group all_reduce")
    t = torch.tensor(data(R, (3,), np.float64))
    dist.broadcast(t, src=K - 1, group=g)  # src: a global rank
    same(t, data(K - 1, (3,), np.float64), "group broadcast")
    t = torch.tensor(data(R, (3,), np.float64))
    dist.broadcast(t, group_src=0, group=g)
    same(t, data(0, (3,), np.float64), "group broadcast group_src")
else:
    assert g is dist.GroupMember.NON_GROUP_MEMBER and dist.get_rank(g) == -1
    t = torch.ones(3)
    assert dist.all_reduce(t, group=g) is None
    same(t, np.ones(3, np.float32), "non-member untouched")
ok("new_group")

# ---- errors: one line naming the collective, torch's exception types
def raises(exc, text, fn):
    try:
        fn()
    except exc as e:
        assert text in str(e), (text, str(e))
    else:
        raise AssertionError(f"expected {exc.__name__} containing {text!r}")


raises(ValueError, "AVG needs a floating-point", lambda: dist.all_reduce(torch.ones(2, dtype=torch.int64), op=dist.ReduceOp.AVG))
raises(ValueError, "list of", lambda: dist.all_gather([torch.zeros(2)], torch.zeros(2)) if K > 1 else (_ for _ in ()).throw(ValueError("list of")))
raises(TypeError, "juanji.Tensor", lambda: dist.all_reduce(np.ones(3)))
raises(ValueError, "not part of the group", lambda: dist.broadcast(torch.ones(1), src=K))
raises(ValueError, "twice", lambda: dist.init_process_group("mpi"))
ok("errors")

dist.destroy_process_group()
assert not dist.is_initialized()
if R == 0:
    print("ok done", flush=True)
