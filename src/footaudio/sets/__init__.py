"""Routine sets: set files, the parallel runner, and the folder's index (manifest, playlist, feed)."""

from __future__ import annotations

from pathlib import Path

from .index import write_index
from .runner import BatchReport, run_batch
from .setfile import RoutineSet, RoutineSpec, load_set_file, set_from_lists

__all__ = ["BatchReport", "RoutineSet", "RoutineSpec", "load_set_file", "rebuild_index", "render_set", "set_from_lists"]


def render_set(routine_set: RoutineSet, folder: Path | str | None = None, *, jobs: int = 1, **options) -> BatchReport:
    """Render a routine set into ``folder`` (default: the set's own folder), skipping what is up to date.

    ``options`` are those of :func:`footaudio.sets.runner.run_batch`: ``shard``, ``force``,
    ``templates``, ``feed_url`` and ``report``.
    """
    return run_batch(routine_set, Path(folder) if folder is not None else routine_set.folder, jobs=jobs, **options)


def rebuild_index(routine_set: RoutineSet, folder: Path | str | None = None, feed_url: str | None = None) -> list[str]:
    """Rebuild the set folder's manifest, playlist (and feed) from its files; returns what is missing."""
    return write_index(routine_set, Path(folder) if folder is not None else routine_set.folder, feed_url)
