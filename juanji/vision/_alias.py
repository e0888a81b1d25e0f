"""Import a package under a second name without loading it twice (``torchvision`` -> ``juanji.vision``).

Code written for torch does ``import torchvision.transforms.v2 as T`` or
``from torchvision import datasets``; those statements look the name up in ``sys.modules``, so
``import juanji.vision as torchvision`` in one's own file does not reach them. An alias finder on
``sys.meta_path`` does:

    >>> import juanji.vision
    >>> alias = juanji.vision.install_as_torchvision()  # once, before the code that imports torchvision
    >>> import torchvision.transforms as T
    >>> T is juanji.vision.transforms
    True
    >>> alias.uninstall()                               # (or: with juanji.vision.install_as_torchvision(): ...)

How: for ``alias`` or ``alias.sub.mod`` the finder imports ``target`` or ``target.sub.mod`` the
ordinary way (each file runs once, under its real name) and hands the import system that very
module object, so ``sys.modules['torchvision.utils'] is sys.modules['juanji.vision.utils']``.
Classes keep their real ``__module__`` (pickles name ``juanji.vision...``). The finder goes first
on ``sys.meta_path``: otherwise Python's path finder would find ``juanji/vision/utils.py`` through
the parent's ``__path__`` and run it a second time as a new module named ``torchvision.utils``.

``ModuleAlias`` is generic (``ModuleAlias('torch', 'juanji')`` works the same way). Installing an
alias while the real package is already imported under that name takes the name over; ``uninstall``
(or leaving the ``with`` block) gives the real modules back.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

__all__ = ["ModuleAlias", "install_as_torchvision", "uninstall_as_torchvision"]


class ModuleAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Make ``alias`` and every ``alias.<sub>`` import as ``target`` / ``target.<sub>``."""

    def __init__(self, alias: str, target: str):
        self.alias = alias
        self.target = target
        self._real_specs = {}   # alias name -> the module's own __spec__ (the import system overwrites it)
        self._displaced = {}    # modules that held the alias names before install(), given back on uninstall()

    # ---------------------------------------------------------------- naming
    def target_name(self, fullname: str):
        """``target`` + the part of ``fullname`` after ``alias``, or None when it is not ours."""
        if fullname == self.alias:
            return self.target
        if fullname.startswith(self.alias + "."):
            return self.target + fullname[len(self.alias):]
        return None

    def _ours(self, name: str) -> bool:
        return self.target_name(name) is not None

    # ---------------------------------------------------------------- the finder/loader protocol
    def find_spec(self, fullname, path=None, target=None):
        real_name = self.target_name(fullname)
        if real_name is None:
            return None
        try:
            module = importlib.import_module(real_name)
        except ModuleNotFoundError as e:
            if e.name != real_name:
                raise  # something the module itself imports is missing: that error is the useful one
            raise ModuleNotFoundError(f"No module named '{fullname}' ({self.alias} is aliased to {self.target}, "
                                      f"which has no {real_name[len(self.target) + 1:]!r})",
                                      name=fullname) from None
        return importlib.util.spec_from_loader(fullname, self, is_package=hasattr(module, "__path__"))

    def create_module(self, spec):
        module = sys.modules[self.target_name(spec.name)]
        self._real_specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module):
        # The module has run already, under its real name. Python has just set its __spec__ to
        # the alias's spec; put its own back so that reload(), importlib.resources and pickle see
        # the real module.
        real_spec = self._real_specs.pop(module.__spec__.name, None)
        if real_spec is not None:
            module.__spec__ = real_spec

    # ---------------------------------------------------------------- switching on and off
    @property
    def installed(self) -> bool:
        return self in sys.meta_path

    def install(self) -> "ModuleAlias":
        """Put the finder first on ``sys.meta_path`` (idempotent); modules already imported under the
        alias names (the real package) are set aside until :meth:`uninstall`."""
        if self.installed:
            return self
        for name in [n for n in sys.modules if self._ours(n)]:
            self._displaced[name] = sys.modules.pop(name)
        sys.meta_path.insert(0, self)
        importlib.invalidate_caches()
        return self

    def uninstall(self) -> None:
        """Remove the finder and the alias entries of ``sys.modules``; give back what install() set aside.
        Does nothing when not installed (the alias names may then belong to the real package)."""
        if not self.installed:
            return
        while self in sys.meta_path:
            sys.meta_path.remove(self)
        for name in [n for n in sys.modules if self._ours(n)]:
            del sys.modules[name]
        sys.modules.update(self._displaced)
        self._displaced.clear()

    def __enter__(self) -> "ModuleAlias":
        return self.install()

    def __exit__(self, *exc) -> None:
        self.uninstall()


_TORCHVISION = ModuleAlias("torchvision", "juanji.vision")


def install_as_torchvision() -> ModuleAlias:
    """Make ``import torchvision`` (and every ``torchvision.<sub>``) import ``juanji.vision``.

    Returns the alias, which is also a context manager::

        with juanji.vision.install_as_torchvision():
            import torchvision.utils      # juanji.vision.utils
    """
    return _TORCHVISION.install()


def uninstall_as_torchvision() -> None:
    """Undo :func:`install_as_torchvision` (a real torchvision imported before comes back)."""
    _TORCHVISION.uninstall()
