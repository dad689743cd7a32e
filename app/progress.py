"""Progress for long command-line work: a live bar with counts and rate in a terminal, plain
periodic lines otherwise (logs, CI, pipes)."""

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, TextIO, TypeVar

if TYPE_CHECKING:
    from rich.progress import Progress

T = TypeVar("T")


class Meter:
    """``with Meter("Loading rows") as meter: meter.advance(n)``; ``total`` when known."""

    def __init__(self, description: str, total: int | None = None, unit: str = "rows", stream: TextIO | None = None):
        self.description, self.total, self.unit = description, total, unit
        self.stream = stream or sys.stderr
        self.count = 0
        self.started = time.monotonic()
        self.last_line = self.started
        self.interactive = self.stream.isatty()
        self._progress: Progress | None = None

    def __enter__(self) -> "Meter":
        if self.interactive:
            # rich only for a terminal: imported here, so that commands that show no bar do not load it.
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn()]
            if self.total is not None:
                columns.append(TaskProgressColumn())
            columns += [TextColumn("{task.fields[rate]}"), TimeElapsedColumn()]
            self._progress = Progress(*columns, console=Console(file=self.stream), transient=False)
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=self.total, rate="")
        return self

    def _rate(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return f"{self.count / elapsed:,.0f} {self.unit}/s"

    def advance(self, amount: int = 1) -> None:
        self.count += amount
        if self._progress is not None:
            self._progress.update(self._task, advance=amount, rate=self._rate())
        elif time.monotonic() - self.last_line >= 5:
            self.last_line = time.monotonic()
            of = f" of {self.total:,}" if self.total is not None else ""
            print(f"{self.description}: {self.count:,}{of} {self.unit} ({self._rate()})", file=self.stream, flush=True)

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if self._progress is not None:
            self._progress.stop()
        elif exc_type is None:  # after a failure the error message says what happened
            print(
                f"{self.description}: {self.count:,} {self.unit} in {time.monotonic() - self.started:.1f} s "
                f"({self._rate()})",
                file=self.stream,
                flush=True,
            )


def track(items: Iterable[T], description: str, total: int | None = None, unit: str = "rows") -> Iterator[T]:
    with Meter(description, total, unit) as meter:
        for item in items:
            yield item
            meter.advance()
