"""Turning failures into one clear line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from entrasnap.cli.config import ConfigError
from entrasnap.services.errors import TenantMismatchError
from entrasnap.services.timeline import TimelineError
from entrasnap.store import StoreError

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


def fail(message: str, code: int = EXIT_FAILED) -> typer.Exit:
    """Print ``error: message`` and return the Exit to raise."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def _graph_errors() -> tuple[type[BaseException], ...]:
    """Graph's errors, imported only when something failed (the graph layer is slow to import)."""
    from entrasnap.graph import GraphRequestError

    return (GraphRequestError,)


def _credential_errors() -> tuple[type[BaseException], ...]:
    from azure.core.exceptions import ClientAuthenticationError

    return (ClientAuthenticationError,)


@contextmanager
def handle_errors(code: int = EXIT_FAILED) -> Iterator[None]:
    """Known failures become ``error: ...`` and exit ``code`` (1, unless a command gives exit 1 another
    meaning, as ``diff --exit-code`` does); Ctrl-C exits 130."""
    try:
        yield
    except (ConfigError, StoreError, TimelineError, TenantMismatchError) as exc:
        raise fail(str(exc), code) from None
    except _graph_errors() as exc:
        raise fail(f"Graph: {exc}", code) from None
    except FileExistsError as exc:
        raise fail(str(exc), code) from None
    except PermissionError as exc:
        raise fail(f"permission denied: {exc.filename or exc}", code) from None
    except OSError as exc:  # output paths: a missing folder, a directory where a file goes, a full disk...
        where = f"{exc.filename}: " if exc.filename else ""
        raise fail(f"{where}{exc.strerror or exc}", code) from None
    except KeyboardInterrupt:
        raise fail("interrupted", EXIT_INTERRUPTED) from None
    except _credential_errors() as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise fail(f"sign-in failed: {first}", code) from None
