"""The tests' patches of modules and of library classes (`monkeypatch.setattr(time, "time", fake)`,
`mock.patch("pathlib.Path.home")`): noted in the judge as the tests make them (install), sent before the next
request (since), made in the candidate too (apply_patch), so that the program calls the replacement as it would in
one process. Part of the tests' state that state.py carries.
"""

from __future__ import annotations

import importlib
import sys
import types

MISSING = object()  # an attribute a module did not have
PATCHINGS = [0]  # monkeypatch and mock.patch calls in this process
_PATCHED: dict = {}  # in the judge: (module, attribute) the tests patched -> the value before the first patch
_ORIGINALS: dict = {}  # in the candidate: (module, attribute) -> its own value before the tests' patch
_NOT_SYNCED = ("solution", "__tests__", "infinicode_runner", "_pytest", "pytest", "pluggy")
# the program's standard streams stay its own: what it prints reaches the tests' sys.stdout through the pipes
_OWN_STREAMS = {("sys", name) for name in ("stdin", "stdout", "stderr", "__stdin__", "__stdout__", "__stderr__")}


def install() -> None:
    """Once, in the judge, before the tests load: count and note the patches of pytest's monkeypatch and of
    unittest.mock.patch."""
    from unittest import mock

    from _pytest import monkeypatch

    # pytest 7 names its "no old value" marker monkeypatch.notset; pytest 8 and later, _pytest.compat.NOTSET
    notset = getattr(monkeypatch, "notset", None) or getattr(monkeypatch, "NOTSET", None)
    _counting_patches(monkeypatch.MonkeyPatch, notset)
    _counting_mock_patches(mock._patch)


def _note_patch(target, name, old) -> None:
    """A module attribute the tests patched (`monkeypatch.setattr(time, "time", fake)`, `mock.patch("os.getcwd")`),
    or an attribute of a library's class (`patch.object(Path, "home")`): the program must call the replacement
    too, as it would in one process. Noted as (module, "name") or (module, "Class.name")."""
    if type(name) is not str:
        return
    if isinstance(target, types.ModuleType) and type(target.__name__) is str \
            and target.__name__.split(".")[0] not in _NOT_SYNCED and (target.__name__, name) not in _OWN_STREAMS:
        _PATCHED.setdefault((target.__name__, name), old)
    elif isinstance(target, type) and _library_class_path(target) is not None:
        _PATCHED.setdefault((target.__module__, f"{target.__qualname__}.{name}"), old)


def _library_class_path(cls):
    """(module, qualname) of a class a library module holds under that name; None for the tests' and the program's
    classes (which are patched another way) and for classes found nowhere."""
    module, qualname = getattr(cls, "__module__", None), getattr(cls, "__qualname__", None)
    if type(module) is not str or type(qualname) is not str or "<" in qualname \
            or module.split(".")[0] in _NOT_SYNCED or module == "builtins":
        return None
    holder, _ = _holder(module, qualname + ".x")
    return (module, qualname) if holder is cls else None


def _holder(module_name: str, dotted: str):
    """The module or class `dotted` ("name" or "Class.name") names an attribute of, and that attribute's name."""
    found = sys.modules.get(module_name)
    *path, name = dotted.split(".")
    for part in path:
        found = getattr(found, part, None)
    if not isinstance(found, (types.ModuleType, type)):
        return None, name
    return found, name


def _counting_patches(cls, monkeypatch_notset) -> None:
    """Wrap pytest's MonkeyPatch so that every module attribute it sets or deletes is noted (its undo too)."""
    def noting(real):
        def wrapped(self, *args, **kwargs):
            before = len(getattr(self, "_setattr", ()))
            try:
                return real(self, *args, **kwargs)
            finally:
                for target, name, old in list(getattr(self, "_setattr", ()))[before:]:
                    _note_patch(target, name, MISSING if old is monkeypatch_notset else old)
                PATCHINGS[0] += 1
        return wrapped

    cls.setattr, cls.delattr = noting(cls.setattr), noting(cls.delattr)
    real_undo = cls.undo

    def undo(self):
        try:
            return real_undo(self)
        finally:
            PATCHINGS[0] += 1
    cls.undo = undo


def _counting_mock_patches(patch_cls) -> None:
    """The same for unittest.mock.patch (as a context manager, a decorator, or start/stop)."""
    real_enter, real_exit = patch_cls.__enter__, patch_cls.__exit__

    def enter(self):
        try:
            target = self.getter()
            old = target.__dict__.get(self.attribute, MISSING) if isinstance(target, (types.ModuleType, type)) \
                else None
        except Exception:
            target = old = None
        try:
            return real_enter(self)
        finally:
            if target is not None:
                _note_patch(target, self.attribute, old)
            PATCHINGS[0] += 1

    def exit(self, *exc_info):
        try:
            return real_exit(self, *exc_info)
        finally:
            PATCHINGS[0] += 1
    patch_cls.__enter__, patch_cls.__exit__ = enter, exit


def since(sent: dict, encode) -> list:
    """In the judge: the module and library-class attributes the tests patched, or undid, since the last request
    (`sent`: what the candidate was last told of each)."""
    patches = []
    for (module_name, name), original in list(_PATCHED.items()):
        holder, attribute = _holder(module_name, name)
        current = holder.__dict__.get(attribute, MISSING) if holder is not None else MISSING
        if current is sent.get((module_name, name), original):
            continue
        sent[(module_name, name)] = current
        if current is original:
            patches.append({"m": module_name, "n": name, "restore": True})
        elif current is MISSING:
            patches.append({"m": module_name, "n": name, "del": True})
        else:
            patches.append({"m": module_name, "n": name, "v": encode(current)})
    return patches


def apply_patch(patch: dict, decode) -> None:
    """In the candidate: one patch the tests made, or undid, made here too."""
    module_name, name = patch.get("m"), patch.get("n")
    if type(module_name) is not str or type(name) is not str:
        return
    try:
        if module_name not in sys.modules:
            importlib.import_module(module_name)
        holder, attribute = _holder(module_name, name)
    except Exception:
        return
    if holder is None:
        return
    key = (module_name, name)
    _ORIGINALS.setdefault(key, holder.__dict__.get(attribute, MISSING))
    try:
        if patch.get("restore"):
            value = _ORIGINALS.pop(key)
            if value is MISSING:
                if attribute in holder.__dict__:
                    delattr(holder, attribute)
            else:
                setattr(holder, attribute, value)
        elif patch.get("del"):
            if attribute in holder.__dict__:
                delattr(holder, attribute)
        elif "v" in patch:
            setattr(holder, attribute, decode(patch["v"]))
    except (AttributeError, TypeError):  # a class that takes no attributes
        pass
