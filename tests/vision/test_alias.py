"""``torchvision`` imports as juanji.vision once the alias is installed, each module loaded once."""

import subprocess
import sys
import textwrap

import pytest

import juanji.vision
from juanji.vision import ModuleAlias

SUBMODULES = ["utils", "datasets", "transforms", "transforms.functional", "transforms.v2",
              "transforms.v2.functional", "models", "tv_tensors", "datasets.mnist", "datasets.folder",
              "datasets.cifar", "io"]


def test_every_import_form_gives_the_juanji_module():
    with juanji.vision.install_as_torchvision():
        import torchvision
        import torchvision.transforms.v2 as v2
        import torchvision.utils
        from torchvision import datasets, models, transforms, tv_tensors
        from torchvision.transforms import functional as F
        from torchvision.transforms.v2 import functional as F2
        from torchvision.utils import make_grid

        assert torchvision is juanji.vision
        assert torchvision.utils is juanji.vision.utils and make_grid is juanji.vision.utils.make_grid
        assert datasets is juanji.vision.datasets and models is juanji.vision.models
        assert transforms is juanji.vision.transforms and tv_tensors is juanji.vision.tv_tensors
        assert F is juanji.vision.transforms.functional
        assert v2 is juanji.vision.transforms.v2 and F2 is juanji.vision.transforms.v2.functional


@pytest.mark.parametrize("sub", SUBMODULES)
def test_no_module_is_loaded_twice(sub):
    with juanji.vision.install_as_torchvision():
        __import__("torchvision." + sub)
        assert sys.modules["torchvision." + sub] is sys.modules["juanji.vision." + sub]
        # every module object that comes from a juanji/vision file is there under its real name
        real = {id(m) for name, m in sys.modules.items() if name.startswith("juanji.vision")}
        aliased = {id(m) for name, m in sys.modules.items() if name.startswith("torchvision")}
        assert aliased <= real
        # and keeps its own spec (pickle, reload and importlib.resources read it)
        assert sys.modules["torchvision." + sub].__spec__.name == "juanji.vision." + sub


def test_a_missing_submodule_names_the_alias():
    with juanji.vision.install_as_torchvision():
        with pytest.raises(ModuleNotFoundError, match=r"torchvision.no_such_thing.*aliased to juanji.vision"):
            import torchvision.no_such_thing  # noqa: F401


def test_uninstall_removes_the_names_and_gives_back_what_was_there(monkeypatch):
    placeholder = type(sys)("torchvision")
    monkeypatch.setitem(sys.modules, "torchvision", placeholder)
    alias = juanji.vision.install_as_torchvision()
    assert alias.installed
    import torchvision
    assert torchvision is juanji.vision
    alias.uninstall()
    assert not alias.installed and sys.modules["torchvision"] is placeholder
    # no juanji module is left under a torchvision name (a real torchvision imported before is back)
    assert not any(name.startswith("torchvision.") and module.__name__.startswith("juanji")
                   for name, module in list(sys.modules.items()))


def test_the_alias_is_generic():
    with ModuleAlias("juanji_vision_alias_for_test", "juanji.vision.transforms"):
        import juanji_vision_alias_for_test.functional as F
        assert F is juanji.vision.transforms.functional
    assert "juanji_vision_alias_for_test" not in sys.modules


def test_library_code_that_imports_torchvision_runs_in_a_fresh_interpreter(tmp_path):
    # a "library" written for torchvision, imported after the alias is installed
    (tmp_path / "library_for_torchvision.py").write_text(textwrap.dedent("""
        import torchvision
        import torchvision.transforms.v2 as T
        from torchvision import datasets, transforms, utils

        def pipeline():
            return transforms.Compose([transforms.Resize(8), transforms.ToTensor()])
    """))
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import juanji.vision
        juanji.vision.install_as_torchvision()
        import library_for_torchvision as lib
        from PIL import Image
        x = lib.pipeline()(Image.new("RGB", (16, 12)))
        # one module object per source file (several names may point at one object)
        modules = dict((id(m), m) for m in list(sys.modules.values()) if getattr(m, "__file__", None))
        files = [m.__file__ for m in modules.values()]
        print(type(x).__module__, list(x.shape), len(files) == len(set(files)), lib.T.__name__)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["juanji.tensor", "[3,", "8,", "10]", "True", "juanji.vision.transforms.v2"]
