"""What a report holds, independent of its format: per section (a command's results files,
or a sweep), the summary, the plots (with the files each was saved as), the tables, the
configuration and the environment."""

from __future__ import annotations

from dataclasses import dataclass, field

from .tables import Table


@dataclass
class Figure:
    """A plot already saved: its files by format (``{"png": "regret-reddi.png"}``)."""

    name: str
    title: str
    caption: str
    files: dict[str, str]
    data: dict[str, bytes]  # the same files' bytes, for embedding


@dataclass
class Section:
    """The report of one command's results files (overlaid), or of one sweep."""

    title: str  # command, files and times: distinct between sections
    command: str
    files: list[tuple[str, str, str]]  # (label, file name, created) per results file
    summary: list[str]
    figures: list[Figure]
    tables: list[Table]
    config: Table
    environment: Table


@dataclass
class Report:
    command: str
    title: str
    sections: list[Section] = field(default_factory=list)
