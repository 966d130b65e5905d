"""The analyses a job may run: every command of the ``biolake`` CLI, by name, with a pydantic model of its parameters.

The registry is derived from the Typer/Click command tree of :data:`biolake.cli.app`, so a
command added to the CLI is offered by the service after a restart, with nothing to
register. ``biolake publichealth surveil`` is the analysis ``publichealth.surveil``; its
parameters are the command's arguments and options by their Python names (``out``,
``method``, ``fill_gaps`` …), typed, with the CLI's defaults and required-ness. Left out:
``serve``, ``demo``, ``report``, the lake administration groups ``lake`` and ``runs``,
``precision pgx-data`` (it updates the installed package's tables), and the options a
worker sets itself (``--lake``, ``--quiet``, ``--scheduler``).

Path rule (what keeps a job inside the lake)
--------------------------------------------
A job runs with its own directory ``LAKE/jobs/ID/`` as working directory.

* **Output files** (a ``Path`` parameter named ``out``/``output``/``*_out`` or whose help
  says it writes a file: ``--out``, ``--km``, ``--summary`` …) must be a bare file name
  (``alarms.csv``: letters, digits, ``_ . -``, no directory); the job writes
  ``LAKE/jobs/ID/out/NAME`` and the CLI registers the result in the lake as usual.
* **Input files** (other ``Path`` parameters, and text parameters whose help mentions a
  file, folder or ``lake:NAME``) may be ``lake:NAME`` (a valid dataset name, optionally
  ``/ID`` after it), or a path. A relative path is looked up in the allowed data
  directories in order (``biolake serve --data-dir``, default ``LAKE/uploads``), then in
  the lake's ``jobs/`` directory (``jobs/ID/out/x.csv``: another job's output);
  if found nowhere it is passed unchanged (relative to the job's directory — a SMILES or
  a dataset name is not a file). An absolute path is accepted only inside those
  directories.
* **Every other text value** that looks like a path — starts with ``/`` or ``~`` or has a
  ``..`` segment — must also resolve inside those directories.

Symbolic links are resolved before the check, so a link cannot lead out either. A value
that breaks the rule is answered 422 with one line naming the parameter.

Test hooks: when the environment variable :data:`TEST_HOOKS_ENV` is ``1`` (tests only),
the registry also holds ``test.sleep`` (:mod:`biolake.service.worker`), a job that sleeps,
reports progress, may allocate memory or fail with a given one-line error.
"""

from __future__ import annotations

import enum
import functools
import math
import os
import re
import sys
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from biolake.errors import InputError

__all__ = [
    "TEST_HOOKS_ENV",
    "Analysis",
    "ParamSpec",
    "PathRules",
    "analyses",
    "get_analysis",
    "python_command",
]

#: ``1`` in the environment adds the ``test.*`` analyses (see :mod:`biolake.service.worker`).
TEST_HOOKS_ENV = "BIOLAKE_SERVICE_TEST_HOOKS"

#: Not jobs: the server itself, demos, reports (served already), lake administration, and
#: ``precision pgx-data`` (it rewrites the installed package's PGx tables).
_EXCLUDED = {("serve",), ("demo",), ("report",), ("lake",), ("runs",), ("precision", "pgx-data")}
_SET_BY_WORKER = {"lake", "quiet", "scheduler", "debug", "help", "version"}
_OUTPUT_HELP = re.compile(r"\.parquet, \.csv or \.tsv|^\s*(also )?write\b|\bto FILE\b", re.IGNORECASE)
_INPUT_HELP = re.compile(r"\bfiles?\b|\bfolders?\b|\blake:", re.IGNORECASE)
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}$")
_LAKE_REF = re.compile(r"^lake:([A-Za-z_][A-Za-z0-9_]{0,127})(/[A-Za-z0-9_.-]{1,200})?$")


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of an analysis, as the CLI defines it.

    Attributes
    ----------
    name
        The JSON key (the Python name of the CLI parameter).
    argument
        True for a positional argument, False for an option.
    opt, secondary
        The option's long flag (``--out``) and, for ``--x/--no-x`` flags, the negative one.
    flag, multiple
        A boolean flag; a list (repeatable option or variadic argument).
    role
        ``"output"`` (a file the job writes), ``"input"`` (a file or ``lake:NAME`` it
        reads) or ``"value"``.
    """

    name: str
    argument: bool
    opt: str | None
    secondary: str | None
    flag: bool
    multiple: bool
    role: str
    required: bool
    default: Any
    help: str
    annotation: Any


class PathRules:
    """The path rule of the module docstring for one job.

    Parameters
    ----------
    lake_root
        The lake directory (``LAKE/jobs`` is readable).
    job_dir
        The job's directory (its working directory; outputs go to ``job_dir/out``).
    data_dirs
        Directories input files may come from, looked up in order.
    """

    def __init__(self, lake_root: Path, job_dir: Path, data_dirs: Sequence[Path]) -> None:
        self.jobs_root = (Path(lake_root) / "jobs").resolve()
        self.job_dir = Path(job_dir).resolve()
        self.data_dirs = [Path(d).resolve() for d in data_dirs]
        self.roots = [*self.data_dirs, self.jobs_root]
        #: server path given to the CLI → the value the client sent (errors show the latter)
        self.shown: dict[str, str] = {}

    def _inside(self, path: Path) -> bool:
        return any(path == root or path.is_relative_to(root) for root in self.roots)

    def _refuse(self, name: str, value: str, why: str) -> InputError:
        return InputError(f"{value!r} {why}", file=f"params.{name}")

    def output(self, name: str, value: str) -> str:
        """An output file name → its path in the job's ``out/`` directory."""
        if not _FILE_NAME.match(value) or value in (".", ".."):
            raise self._refuse(name, value, "is not a plain file name (letters, digits, '_', '.', '-'; no directory)")
        return self._given(self.job_dir / "out" / value, value)

    def input(self, name: str, value: str) -> str:
        """An input file or ``lake:NAME`` → what the CLI is given (see the module docstring)."""
        if value.startswith("lake:"):
            if not _LAKE_REF.match(value):
                raise self._refuse(name, value, "is not a valid lake:NAME reference")
            return value
        if value.startswith("~"):
            raise self._refuse(name, value, "may not start with '~'")
        if "\0" in value:
            raise self._refuse(name, value, "holds a NUL character")
        path = Path(value)
        if path.is_absolute():
            resolved = path.resolve()
            if not self._inside(resolved):
                raise self._refuse(name, value, "is outside the allowed data directories and the lake's jobs/")
            return self._given(resolved, value)
        for root in self.data_dirs:
            candidate = (root / path).resolve()
            if candidate.exists() and candidate.is_relative_to(root):
                return self._given(candidate, value)
        if path.parts[:1] == ("jobs",):
            candidate = (self.jobs_root.parent / path).resolve()
            if candidate.exists() and candidate.is_relative_to(self.jobs_root):
                return self._given(candidate, value)
        if not self._inside((self.job_dir / path).resolve()):
            raise self._refuse(name, value, "leads outside the allowed data directories and the lake's jobs/")
        return value

    def _given(self, resolved: Path, value: str) -> str:
        self.shown[str(resolved)] = value
        return str(resolved)

    def value(self, name: str, value: str) -> str:
        """Any other text: checked as a path (relative to the job's directory) only when it looks like one.

        (``~`` is left alone here: no shell expands it, and ``~ batch + condition`` is a formula.)
        """
        looks_like_path = value.startswith("/") or ".." in Path(value).parts
        if looks_like_path and not self._inside((self.job_dir / value).resolve()):
            raise self._refuse(name, value, "leads outside the allowed data directories and the lake's jobs/")
        return value


@dataclass(frozen=True)
class Analysis:
    """One analysis: a CLI command with its parameters and their pydantic model.

    Attributes
    ----------
    name
        Dotted name, e.g. ``"publichealth.surveil"``.
    command
        The CLI words, e.g. ``("publichealth", "surveil")``.
    module
        The module run with ``python -m`` (``"biolake"``, or the worker's test hooks).
    """

    name: str
    command: tuple[str, ...]
    module: str
    summary: str
    help: str
    params: tuple[ParamSpec, ...]
    model: type[BaseModel]

    def schema(self) -> dict[str, Any]:
        """The JSON schema of the parameters (pydantic's), with each field's role under ``x-role``."""
        schema = self.model.model_json_schema()
        for spec in self.params:
            prop = schema.get("properties", {}).get(spec.name)
            if prop is not None:
                prop["x-role"] = spec.role
        return schema

    def to_dict(self) -> dict[str, Any]:
        """Name, help and parameter schema, as ``GET /api/analyses`` lists them."""
        return {"name": self.name, "summary": self.summary, "help": self.help, "params": self.schema()}

    def validate(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """Check ``params`` with the model; the values given (after coercion), or a one-line InputError."""
        try:
            model = self.model.model_validate(dict(params or {}))
        except ValidationError as exc:
            parts = []
            for err in exc.errors()[:4]:
                where = ".".join(str(p) for p in err.get("loc", ())) or "params"
                parts.append(f"params.{where}: {err.get('msg', 'invalid')}")
            more = f" (and {exc.error_count() - 4} more)" if exc.error_count() > 4 else ""
            raise InputError("; ".join(parts) + more, file=self.name) from None
        return {k: _finite(v) for k, v in model.model_dump(exclude_unset=True, mode="json").items()}

    def arguments(self, values: Mapping[str, Any], rules: PathRules) -> list[str]:
        """The CLI words after ``python -m MODULE …``: command, options, ``--``, arguments."""
        options: list[str] = []
        positional: list[str] = []
        for spec in self.params:
            value = values.get(spec.name)  # unset: the CLI's own default applies
            if value is None:
                continue
            if spec.flag:
                if value:
                    options.append(str(spec.opt))
                elif spec.secondary:
                    options.append(spec.secondary)
                continue
            items = list(value) if spec.multiple else [value]
            words = [self._word(spec, item, rules) for item in items]
            if spec.argument:
                positional.extend(words)
            else:
                for word in words:
                    options += [str(spec.opt), word]
        return [*self.command, *options, *(["--", *positional] if positional else [])]

    @staticmethod
    def _word(spec: ParamSpec, item: Any, rules: PathRules) -> str:
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, float):
            return repr(item)
        text = str(item)
        if spec.role == "output":
            return rules.output(spec.name, text)
        if spec.role == "input":
            return rules.input(spec.name, text)
        if isinstance(item, str):
            return rules.value(spec.name, text)
        return text


# ----------------------------------------------------------------- building
def _finite(value: Any) -> Any:
    """inf/nan (e.g. ``"inf"``: "off") as the strings click reads back, so the parameters stay JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _unwrap_optional(annotation: Any) -> Any:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def _json_type(annotation: Any) -> Any:
    """The pydantic field type of a CLI annotation (paths become text, enums their values)."""
    annotation = _unwrap_optional(annotation)
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, Sequence):
        args = typing.get_args(annotation)
        return list[_json_type(args[0] if args else str)]
    if origin is Literal:
        return annotation
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            return Literal[tuple(m.value for m in annotation)]  # type: ignore[misc]
        if annotation is bool:
            return bool
        if issubclass(annotation, int):
            return int
        if issubclass(annotation, float):
            return float
    return str


def _annotation_of(param: Any) -> Any:
    """A parameter's Python annotation (Typer's), or one made from a plain Click type."""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None:
        return descriptor.annotation
    kind = getattr(getattr(param, "type", None), "name", "text")
    choices = getattr(getattr(param, "type", None), "choices", None)
    base: Any = {"integer": int, "float": float, "boolean": bool}.get(kind, str)
    if choices:
        base = Literal[tuple(choices)]  # type: ignore[valid-type]
    return list[base] if (param.multiple or param.nargs == -1) else base


def _role(name: str, annotation: Any, help_text: str) -> str:
    inner = _unwrap_optional(annotation)
    if typing.get_origin(inner) in (list, tuple):
        inner = (typing.get_args(inner) or (str,))[0]
    if inner is Path or (isinstance(inner, type) and issubclass(inner, os.PathLike)):
        if name in ("out", "output") or name.endswith("_out") or _OUTPUT_HELP.search(help_text):
            return "output"
        return "input"
    if inner is str and _INPUT_HELP.search(help_text):
        return "input"
    return "value"


def _spec(param: Any) -> ParamSpec:
    annotation = _annotation_of(param)
    help_text = " ".join((getattr(param, "help", None) or "").split())
    argument = type(param).__name__.endswith("Argument")
    longs = [o for o in param.opts if o.startswith("--")] or list(param.opts)
    seconds = [o for o in getattr(param, "secondary_opts", ()) if o.startswith("--")]
    multiple = bool(param.multiple or param.nargs == -1)
    default = None if callable(param.default) else param.default
    if isinstance(default, enum.Enum):
        default = default.value
    if isinstance(default, Path):
        default = str(default)
    if multiple and default is not None:
        default = list(default)
    return ParamSpec(
        name=str(param.name),
        argument=argument,
        opt=None if argument else longs[0],
        secondary=seconds[0] if seconds else None,
        flag=bool(getattr(param, "is_flag", False)) and not multiple,
        multiple=multiple,
        role=_role(str(param.name), annotation, help_text),
        required=bool(param.required),
        default=default,
        help=help_text,
        annotation=annotation,
    )


def _model(name: str, specs: Sequence[ParamSpec], params: Sequence[Any]) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for spec, param in zip(specs, params, strict=True):
        kind = bool if spec.flag else _json_type(spec.annotation)
        info = getattr(getattr(param, "type_descriptor", None), "parameter_info", None)
        bounds = {}
        if info is not None and kind in (int, float):
            if getattr(info, "min", None) is not None:
                bounds["ge"] = info.min
            if getattr(info, "max", None) is not None:
                bounds["le"] = info.max
        extra = {"x-cli": spec.opt or spec.name.upper()}
        if spec.required:
            fields[spec.name] = (kind, Field(..., description=spec.help or None, json_schema_extra=extra, **bounds))
        else:
            optional = kind if spec.default is not None else kind | None
            fields[spec.name] = (
                optional,
                Field(spec.default, description=spec.help or None, json_schema_extra=extra, **bounds),
            )
    config = ConfigDict(extra="forbid", title=name)
    return create_model(f"Params_{name.replace('.', '_')}", __config__=config, **fields)


def _walk(command: Any, path: tuple[str, ...], module: str, out: dict[str, Analysis]) -> None:
    if getattr(command, "hidden", False) or path in _EXCLUDED:
        return
    subcommands = getattr(command, "commands", None)
    if subcommands is not None:
        for word, sub in subcommands.items():
            _walk(sub, (*path, word), module, out)
        return
    params = [p for p in command.params if p.name not in _SET_BY_WORKER and getattr(p, "expose_value", True)]
    specs = [_spec(p) for p in params]
    name = ".".join(path)
    help_text = " ".join((command.help or "").split("\n\n")[0].split())
    summary = help_text.split(". ")[0].rstrip(".")
    full = (command.help or "").strip()
    out[name] = Analysis(
        name=name,
        command=path,
        module=module,
        summary=summary,
        help=full,
        params=tuple(specs),
        model=_model(name, specs, params),
    )


@functools.lru_cache(maxsize=4)
def _registry(test_hooks: bool) -> dict[str, Analysis]:
    import typer

    from biolake.cli import app

    out: dict[str, Analysis] = {}
    _walk(typer.main.get_command(app), (), "biolake", out)
    if test_hooks:
        from biolake.service.worker import test_app

        _walk(typer.main.get_command(test_app), ("test",), "biolake.service.worker", out)
    return dict(sorted(out.items()))


def analyses() -> dict[str, Analysis]:
    """Every analysis by name (the CLI's commands; ``test.*`` only with :data:`TEST_HOOKS_ENV` set)."""
    return _registry(os.environ.get(TEST_HOOKS_ENV) == "1")


def get_analysis(name: str) -> Analysis | None:
    """The analysis of that name, or None."""
    return analyses().get(name)


def python_command(analysis: Analysis, lake_root: Path, arguments: Sequence[str]) -> list[str]:
    """The whole command line of a job: ``python -m biolake --lake LAKE --quiet …`` (or the test hooks)."""
    if analysis.module == "biolake":
        return [sys.executable, "-m", "biolake", "--lake", str(lake_root), "--quiet", *arguments]
    return [sys.executable, "-m", analysis.module, *arguments]
