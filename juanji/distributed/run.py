"""Start a torch-style distributed script on MPI (juanji's ``torchrun``).

    python -m juanji.distributed.run --nproc-per-node 2 train.py --epochs 3
    mpiexec -n 2 python -m juanji.distributed.run train.py --epochs 3      (the same)
    mpiexec -n 32 -f hostfile python -m juanji.distributed.run train.py    (across hosts)

Scripts written for ``torchrun`` read ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and
``LOCAL_WORLD_SIZE`` from the environment (often before ``init_process_group``). Plain
``mpiexec`` sets its own variables (MPICH/Intel MPI ``PMI_RANK``, ``PMI_SIZE``,
``MPI_LOCALRANKID``; Open MPI ``OMPI_COMM_WORLD_*``; Slurm ``SLURM_PROCID``...): inside each
rank this module sets torch's names from them, then runs the script as ``__main__``. With
``--nproc-per-node K`` and no MPI launcher around it, it first starts ``mpiexec -n K`` on itself.
(``MASTER_ADDR``/``MASTER_PORT`` are set too, for scripts that read them; MPI does not need them.)
"""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import sys

__all__ = ["launcher_env", "mpiexec_path", "spawn", "main"]

# (rank, size, local rank, local size) variables of the common MPI launchers
_LAUNCHERS = (
    ("PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"),               # MPICH hydra, Intel MPI
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"),
    ("PMIX_RANK", "PMIX_SIZE", "PMIX_LOCAL_RANK", "PMIX_LOCAL_SIZE"),
    ("SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_NTASKS_PER_NODE"),
)


def launcher_env(environ=None) -> dict | None:
    """torch's variables (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE) derived from the MPI
    launcher's, or None when this process was not started by one."""
    env = os.environ if environ is None else environ
    for rank, size, local, local_size in _LAUNCHERS:
        if rank in env and size in env:
            out = {"RANK": env[rank], "WORLD_SIZE": env[size], "LOCAL_RANK": env.get(local, env[rank]),
                   "LOCAL_WORLD_SIZE": env.get(local_size, env[size])}
            out["LOCAL_WORLD_SIZE"] = out["LOCAL_WORLD_SIZE"].split("(")[0]  # Slurm's "2(x3)" form
            return out
    return None


def mpiexec_path() -> str:
    """mpiexec of the MPI installed beside this Python (the mpich wheel's), else the PATH's."""
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = here if os.path.exists(here) else shutil.which("mpiexec")
    if found is None:
        from ._mpi import MISSING_MESSAGE
        raise RuntimeError(f"no mpiexec found: {MISSING_MESSAGE}")
    return found


def spawn(nproc: int, argv: list, hosts: str | None = None, hostfile: str | None = None) -> int:
    """Run ``argv`` as ``nproc`` MPI ranks (``mpiexec -n nproc [-hosts ...|-f ...] argv``);
    returns mpiexec's exit status. More ranks than cores is allowed (MPICH oversubscribes)."""
    command = [mpiexec_path(), "-n", str(int(nproc))]
    if hosts:
        command += ["-hosts", hosts]
    if hostfile:
        command += ["-f", hostfile]
    try:
        return subprocess.call(command + list(argv))
    except KeyboardInterrupt:
        return 130


def _set_torch_env() -> None:
    found = launcher_env() or {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "1"}
    for key, value in found.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29500")


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    usage = ("usage: python -m juanji.distributed.run [--nproc-per-node K] [--hosts H1,H2 | --hostfile FILE] "
             "(script.py | -m module) [args ...]")
    nproc, hosts, hostfile = None, None, None
    while argv and argv[0].startswith("-") and argv[0] != "-m":
        flag = argv.pop(0)
        name, _, value = flag.partition("=")
        if name in ("--nproc-per-node", "--nproc_per_node", "--nproc", "-n"):
            value = value or (argv.pop(0) if argv else "")
            if not value.isdigit() or int(value) < 1:
                print(f"juanji.distributed.run: {name} expects a positive integer, got {value!r}", file=sys.stderr)
                return 2
            nproc = int(value)
        elif name in ("--hosts", "--hostfile"):
            value = value or (argv.pop(0) if argv else "")
            hosts, hostfile = (value, hostfile) if name == "--hosts" else (hosts, value)
        elif name in ("-h", "--help"):
            print(usage + "\n\n" + __doc__)
            return 0
        else:
            print(f"juanji.distributed.run: unknown option {flag}\n{usage}", file=sys.stderr)
            return 2
    if not argv:
        print(usage, file=sys.stderr)
        return 2
    if nproc is not None and launcher_env() is None:
        return spawn(nproc, [sys.executable, "-m", "juanji.distributed.run", *argv], hosts, hostfile)
    _set_torch_env()
    if argv[0] == "-m":
        if len(argv) < 2:
            print(usage, file=sys.stderr)
            return 2
        sys.argv = [argv[1], *argv[2:]]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = list(argv)
        sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))
        runpy.run_path(argv[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
