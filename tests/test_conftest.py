"""A test run without a working torch fails with one clear message instead of skipping."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = "tests/test_doctests.py::test_the_package_has_examples_to_run"


def _pytest_with_broken_torch(tmp_path, **env_extra):
    fake = tmp_path / "torch"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('this torch is broken')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]), **env_extra)
    env.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", TARGET],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_a_broken_torch_stops_the_run_with_one_message(tmp_path):
    done = _pytest_with_broken_torch(tmp_path)
    assert done.returncode != 0
    assert "torch, the test oracle, cannot be imported (ImportError: this torch is broken)" in done.stdout + done.stderr


def test_the_torch_free_tests_can_still_be_run_on_purpose(tmp_path):
    done = _pytest_with_broken_torch(tmp_path, JUANJI_TESTS_WITHOUT_TORCH="1")
    assert done.returncode == 0, done.stdout + done.stderr
