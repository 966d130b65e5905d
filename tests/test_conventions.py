"""Conventions every public function of biolake keeps (scanpy style)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import biolake


def _public_modules():
    for info in pkgutil.walk_packages(biolake.__path__, prefix="biolake."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        if info.name.startswith("biolake.cli") or info.name == "biolake.__main__":
            continue
        yield info.name


def _public_functions():
    for name in _public_modules():
        module = importlib.import_module(name)
        exported = getattr(module, "__all__", None)
        if exported is None:
            continue
        for attr in exported:
            obj = getattr(module, attr)
            if inspect.isfunction(obj) and obj.__module__ == name:
                yield f"{name}.{attr}", obj


FUNCTIONS = dict(_public_functions())


def test_conventions__there_are_public_functions():
    assert len(FUNCTIONS) > 10


@pytest.mark.parametrize("qualname", sorted(FUNCTIONS))
def test_conventions__documented_and_annotated(qualname):
    fn = FUNCTIONS[qualname]
    assert inspect.getdoc(fn), f"{qualname} has no docstring"
    sig = inspect.signature(fn)
    assert "return" in fn.__annotations__, f"{qualname} has no return annotation"
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        assert p.name in fn.__annotations__, f"{qualname}: parameter {p.name!r} is not annotated"


@pytest.mark.parametrize("qualname", sorted(FUNCTIONS))
def test_conventions__options_are_keyword_only(qualname):
    """Options (parameters with defaults) are keyword-only (scikit-learn style).

    Only the first parameter may be an optional positional one (``get_backend(scheduler=None)``).
    """
    params = list(inspect.signature(FUNCTIONS[qualname]).parameters.values())[1:]
    positional_with_default = [p.name for p in params if p.kind == p.POSITIONAL_OR_KEYWORD and p.default is not p.empty]
    assert positional_with_default == [], f"{qualname}: make {positional_with_default} keyword-only"
