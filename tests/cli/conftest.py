"""Fixtures of the command-line tests: run ``biolake`` in-process (fast) or as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from biolake.cli import main


@dataclass
class Result:
    """Exit code and the text written to stdout and stderr by one ``biolake`` command."""

    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()

    @property
    def out_lines(self) -> list[str]:
        return self.out.splitlines()

    def assert_one_error_line(self, code: int = 2) -> str:
        """Exactly one line on stderr, starting with ``error:``; the exit code; return the line."""
        assert self.code == code, (self.code, self.out, self.err)
        assert len(self.err_lines) == 1, self.err
        assert self.err_lines[0].startswith("error: "), self.err
        return self.err_lines[0]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No lake from the environment; the working directory is the test's own."""
    monkeypatch.delenv("BIOLAKE_LAKE", raising=False)
    monkeypatch.chdir(tmp_path)


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    return 1


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run ``biolake.cli.main(args)`` in this process; return its exit code, stdout and stderr."""

    def run(*args: str | os.PathLike[str]) -> Result:
        capsys.readouterr()  # start clean
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = _exit_code(exc)
        else:  # pragma: no cover - main() always exits
            raise AssertionError("biolake.cli.main returned without sys.exit")
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def run_biolake(
    args: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    python_args: Sequence[str] = ("-m", "biolake"),
    timeout: float = 180,
) -> Result:
    """Run ``python -m biolake ARGS`` as a real process (no BIOLAKE_LAKE unless given in ``env``)."""
    full_env = {k: v for k, v in os.environ.items() if k != "BIOLAKE_LAKE"}
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, *python_args, *[str(a) for a in args]],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def biolake(tmp_path: Path) -> Callable[..., Result]:
    """Run ``python -m biolake ARGS`` in ``tmp_path`` (or ``cwd=``) as a real process."""

    def run(
        *args: str | os.PathLike[str],
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        python_args: Sequence[str] = ("-m", "biolake"),
        timeout: float = 180,
    ) -> Result:
        return run_biolake(args, cwd=cwd or tmp_path, env=env, python_args=python_args, timeout=timeout)

    return run
