"""The `v2s` command line: global options, the sub-commands, and the error boundary.

Nothing below the CLI prints or exits; here every exception becomes a short message
and a documented exit code (docs/cli.md). ``V2S_DEBUG=1`` adds tracebacks for bugs.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Annotated

import typer
from typer.exceptions import TyperException

from vmware2scw.commands import common as c
from vmware2scw.commands import handoff, info, run, scheduler, state, worker
from vmware2scw.errors import ConfigError, LockError, StalePlanError, V2SError

app = typer.Typer(
    name="v2s",
    help="Migrate VMware vSphere VMs to Scaleway Instances with plan/apply.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _globals(
    config: Annotated[Path, typer.Option("-c", "--config", help="The desired-state file.")
                      ] = Path("v2s.yaml"),
    chdir: Annotated[Path | None, typer.Option("--chdir", "-chdir",
                                               help="Switch to this directory first.")] = None,
    no_color: Annotated[bool, typer.Option("--no-color", "-no-color",
                                           help="No colours in the output.")] = False,
) -> None:
    if chdir is not None:
        try:
            os.chdir(chdir)
        except OSError as exc:
            raise ConfigError(f"--chdir {chdir}: {exc.strerror}") from None
    c.GLOBALS.config = config
    c.GLOBALS.no_color = no_color or bool(os.environ.get("NO_COLOR"))


run.register(app)
state.register(app)
info.register(app)
handoff.register(app)
worker.register(app)
scheduler.register(app)


def _fail(message: str, code: int) -> int:
    c.out(f"Error: {message}", err=True)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script exits with it)."""
    os.umask(os.umask(0o077) | 0o077)  # every file and folder v2s makes is private
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="v2s", standalone_mode=False)
    except TyperException as exc:  # usage errors (typer vendors click: match by behaviour)
        if type(exc).__name__ == "Abort":
            return _fail("interrupted", c.INTERRUPTED)
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        if not message:  # `v2s` alone: the help was printed
            return c.OK
        ctx = getattr(exc, "ctx", None)
        hint = f"\n  hint: run `{ctx.command_path} --help`" if ctx is not None else ""
        return _fail(f"{message}{hint}", c.ERROR)
    except LockError as exc:
        return _fail(str(exc), c.LOCKED)
    except StalePlanError as exc:
        return _fail(str(exc), c.STALE_PLAN)
    except V2SError as exc:
        return _fail(str(exc), c.ERROR)
    except KeyboardInterrupt:
        return _fail("interrupted; nothing was being applied", c.INTERRUPTED)
    except Exception as exc:
        if os.environ.get("V2S_DEBUG"):
            traceback.print_exc()
        return _fail(f"internal error ({type(exc).__name__}: {exc}). This is a bug in v2s; "
                     "rerun with V2S_DEBUG=1 for details and report it.", c.INTERNAL)
    return result if isinstance(result, int) else c.OK


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
