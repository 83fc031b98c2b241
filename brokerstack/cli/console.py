"""Where the command line writes, and how an expected failure ends a command."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import psycopg
import typer
from alembic.util.exc import CommandError
from rich.console import Console

from brokerstack.errors import BrokerstackError

console = Console()
errors = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def operator_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn expected failures into one line on stderr and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (BrokerstackError, CommandError) as exc:
            message = str(exc)
        except psycopg.Error as exc:
            message = f"database error: {str(exc).strip().splitlines()[0]}"
        errors.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)

    return wrapper
