"""`dutydesk`: read the arguments, open the context, run the one command asked for, write its
answer. Whatever goes wrong reaches the user as one line on stderr, never a traceback
(`DUTYDESK_DEBUG=1` adds the traceback of an unexpected error); a closed pipe
(`dutydesk plans list | head -1`) ends the command quietly."""

# ruff: noqa: PLC0415 - modules are imported when the command needs them, so that it starts at once

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from dutydesk.console.cli.parser import parse

if TYPE_CHECKING:
    from dutydesk.console.cli.bootstrap import Context
    from dutydesk.console.cli.output import Output
    from dutydesk.playbooks.clock import Clock

Handler = Callable[[argparse.Namespace, "Context"], "Output | Coroutine[Any, Any, Output]"]

BROKEN_PIPE = 141  # as a shell reports a command ended by SIGPIPE
INTERRUPTED = 130  # as a shell reports one ended by Ctrl+C


def main(
    argv: Sequence[str] | None = None,
    *,
    clock: Clock | None = None,
    env: Mapping[str, str] = os.environ,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        return _run(list(argv) if argv is not None else None, clock, env, out, err)
    except BrokenPipeError:
        _silence(out)
        return BROKEN_PIPE
    except KeyboardInterrupt:
        return INTERRUPTED


def handler(reference: str) -> Handler:
    """The function a command runs, from its "module:function" in this package."""
    module, _, name = reference.partition(":")
    function: Handler = getattr(importlib.import_module(f"{__package__}.{module}"), name)
    return function


def _run(
    argv: list[str] | None, clock: Clock | None, env: Mapping[str, str], out: TextIO, err: TextIO
) -> int:
    args = parse(argv)  # --help and mistakes end here, before anything else is loaded
    run = handler(args.handler)
    from dutydesk.connectors.settings import SettingsError
    from dutydesk.console.cli.bootstrap import open_context

    try:
        ctx = open_context(
            config=args.config, operator=args.operator, lang=args.lang, env=env, out=out, err=err, clock=clock
        )
    except SettingsError as exc:
        print(f"dutydesk: {exc}", file=err)
        return 1
    try:
        code = _answer(run, args, ctx)
    except BrokenPipeError:
        raise
    except Exception as exc:  # every failure becomes one line for the user
        print(f"dutydesk: {ctx.t('error')}: {_explain(exc, env, err)}", file=err)
        return 1
    out.flush()
    return code


def _answer(run: Handler, args: argparse.Namespace, ctx: Context) -> int:
    from dutydesk.console.cli.output import emit

    result = run(args, ctx)
    if isinstance(result, Coroutine):
        import asyncio  # only commands that wait on something load asyncio

        result = asyncio.run(result)
    return emit(result, ctx.out, as_json=getattr(args, "json", False))


def _explain(exc: Exception, env: Mapping[str, str], err: TextIO) -> str:
    """The one line that tells the user what went wrong."""
    if isinstance(exc, _expected()):
        return str(exc)
    if env.get("DUTYDESK_DEBUG"):
        import traceback

        traceback.print_exception(exc, file=err)
    return f"unexpected {type(exc).__name__}: {exc} (DUTYDESK_DEBUG=1 shows where)"


def _expected() -> tuple[type[Exception], ...]:
    """Failures whose message is meant for the user as it is. The bootstrap turns the store's
    and the engine's refusals into `CliError`, so nothing heavier is imported on the way out."""
    from dutydesk.connectors.settings import SettingsError
    from dutydesk.console.cli.bootstrap import CliError

    return (CliError, SettingsError, OSError)


def _silence(out: TextIO) -> None:
    """The reader went away: point the stream at /dev/null so that the flush at exit has
    nowhere to fail (Python's own advice for SIGPIPE)."""
    try:
        fd = out.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
