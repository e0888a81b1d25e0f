"""The README's set-up commands: ``make demo`` installs the runtime dependencies only (no torch),
``make test`` the test extra as well."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _dry_run(target: str, folder: Path) -> list[str]:
    """The commands ``make TARGET`` would run in a folder without a .venv (``make -n``)."""
    done = subprocess.run(["make", "-n", "-C", str(folder), target], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if "pip install" in line]


@pytest.fixture
def bare_checkout(tmp_path):
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_installs_the_package_without_its_test_extra(bare_checkout):
    installs = _dry_run("demo", bare_checkout)
    assert any(line.rstrip().endswith("install --quiet -e .") for line in installs), installs
    assert not any("[test]" in line for line in installs), installs


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_test_installs_the_test_extra(bare_checkout):
    installs = _dry_run("test", bare_checkout)
    assert any('-e ".[test]"' in line for line in installs), installs


def test_the_runtime_dependencies_do_not_include_the_oracle():
    import tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert not any(dep.lower().startswith("torch") for dep in project["dependencies"])
    assert any(dep.startswith("torch==") for dep in project["optional-dependencies"]["test"])


@pytest.mark.slow
def test_make_demo_in_a_fresh_clone_leaves_torch_out_of_the_venv(tmp_path):
    """The real thing: clone, ``make demo`` (installs and trains, minutes), then ask the venv."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    done = subprocess.run(["make", "demo"], cwd=clone, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "test accuracy:" in done.stdout
    probe = subprocess.run([str(clone / ".venv/bin/python"), "-c", "import importlib.util as u; "
                            "print(u.find_spec('torch') is None, u.find_spec('pytest') is None)"],
                           capture_output=True, text=True, timeout=60)
    assert probe.stdout.split() == ["True", "True"], probe.stdout + probe.stderr
