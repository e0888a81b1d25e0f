"""``juanji.install_as_torch()``: ``import torch``/``torchvision`` in other people's files give juanji, and it is undone."""

import subprocess
import sys
import textwrap

import pytest

import juanji
import juanji.vision


def _alias_finders():
    return [f for f in sys.meta_path if type(f).__name__ == "ModuleAlias"]


def test_every_import_form_gives_juanji_inside_the_block():
    with juanji.install_as_torch() as swap:
        assert swap.installed
        import torch
        import torch.nn.functional as F
        import torchvision
        from torch import nn, optim
        from torch.utils import data
        from torchvision import transforms

        assert torch is juanji and nn is juanji.nn and optim is juanji.optim
        assert F is juanji.nn.functional and data is juanji.utils.data
        assert torchvision is juanji.vision and transforms is juanji.vision.transforms
    assert not swap.installed


def test_leaving_the_block_gives_the_real_torch_back():
    real = pytest.importorskip("torch")
    real_nn = sys.modules["torch.nn"]
    with juanji.install_as_torch():
        import torch
        import torch.nn
        assert torch is juanji and sys.modules["torch.nn"] is juanji.nn
    assert sys.modules["torch"] is real and sys.modules["torch.nn"] is real_nn
    assert _alias_finders() == []


def test_install_and_uninstall_without_a_block():
    swap = juanji.install_as_torch()
    try:
        assert juanji.install_as_torch() is swap  # idempotent
        assert len(_alias_finders()) == 2
        import torch
        assert torch is juanji
    finally:
        juanji.uninstall_as_torch()
    assert _alias_finders() == []
    juanji.uninstall_as_torch()  # a second uninstall does nothing


def test_a_name_juanji_lacks_fails_with_the_alias_named():
    with juanji.install_as_torch():
        with pytest.raises(ModuleNotFoundError, match="torch is aliased to juanji"):
            import torch.no_such_module  # noqa: F401


def test_a_module_imported_under_the_swap_keeps_juanji(tmp_path):
    # a library file that does `import torch` at its top, imported in a fresh process without real torch
    (tmp_path / "somelib.py").write_text("import torch\nfrom torch import nn\ndef make():\n    return nn.Linear(2, 3)\n")
    code = textwrap.dedent("""
        import sys, juanji
        with juanji.install_as_torch():
            import somelib
        assert "torch" not in sys.modules, sorted(n for n in sys.modules if n.startswith("torch"))
        layer = somelib.make()
        assert type(layer) is juanji.nn.Linear, type(layer)
        assert somelib.torch is juanji
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
