"""The ingest pipeline: files → read → normalise → validate → resolve → load, one transaction each.

Spreadsheets and QR submissions take the same path: a submission is a one-row table handed to
``ingest_tables``.  The import ledger (``import_batch``) records every file with its content hash;
a file whose content was loaded before changes nothing.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from etl import config
from etl.aggregate import mark_stale, refresh_if_stale
from etl.collections import mark_figures_stale
from etl.load import LOADERS
from etl.masking import mask_id
from etl.store import LoadContext, writing
from etl.normalise import ERRORS, WANTS_A_REGISTRY, WARNING_NOTE, explicit_years
from etl.formtool import read_jsonl
from etl.text import is_missing
from etl.read import JSON_LINES_SUFFIXES, SUPPORTED_SUFFIXES, TEXT_SUFFIXES, Table, UnreadableFile, read_tables, sniff_kinds
from etl.resolve import Hierarchy
from etl.validate import ERROR, WARNING, apply_defaults, normalise_table, rows_rejected
from schemas import sources as S
from etl.database import init_db
from schemas.models import ImportBatch, Reject

Progress = Callable[[str, int, int], None]  # (label, done, total)


@dataclass
class FileResult:
    file: str
    sha256: str | None = None
    kind: str | None = None
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    warnings: int = 0  # optional values left empty in rows that loaded (reject rows of severity warning)
    status: str = "loaded"
    error: str | None = None
    batch_id: int | None = None
    sheets: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        if out["error"] is None:
            out.pop("error")
        return out


def expand_paths(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """Files named, and the spreadsheets inside folders named; returns (files, skipped)."""
    files, skipped = [], []
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if not child.is_file() or any(part.startswith(".") for part in child.relative_to(path).parts):
                    continue
                if child.name.startswith("~$") or child.suffix.lower() not in SUPPORTED_SUFFIXES:
                    skipped.append(child)
                    continue
                files.append(child)
        else:
            files.append(path)
    return list(dict.fromkeys(files)), skipped


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_file(path: Path) -> list[Table]:
    """Every table of a file: form-tool exports (.jsonl) by etl.formtool, spreadsheets and CSV by etl.read."""
    return read_jsonl(path) if path.suffix.lower() in JSON_LINES_SUFFIXES else read_tables(path)


def _file_year(tables: list[Table]) -> int | None:
    years: Counter[int] = Counter()
    for table in tables:
        for f in table.kind.fields:
            if f.parser in (S.DATE, S.DATETIME) and f.name in table.frame:
                years += explicit_years(table.frame[f.name])
    return years.most_common(1)[0][0] if years else None


def _mask_value(field_name: str, value: Any) -> Any:
    """Rejected ID numbers are shown masked, like stored ones: raw IDs are never kept."""
    return mask_id(str(value)) if field_name == "id_number" and value is not None else value


def reject_rows(batch_id: int, table: Table, frame: pd.DataFrame, errors: pd.DataFrame) -> list[dict[str, Any]]:
    """Error report → reject records: file row, field (as its header was written), reason, severity."""
    out = []
    for idx, field_name, code, value, severity in errors[["idx", "field", "code", "value", "severity"]].itertuples(index=False):
        header = table.headers.get(field_name, S.KINDS_BY_NAME[table.kind.name].field(field_name).header
                                   if field_name in table.kind.field_names else field_name)
        shown = _mask_value(field_name, value)
        detail = f"（{header}）" if is_missing(shown) else f"（{header}：{shown}）"
        out.append({
            "batch_id": batch_id,
            "sheet": table.sheet,
            "row_number": int(frame.at[idx, "_row"]),
            "field": field_name,
            "code": code,
            "severity": severity,
            "reason": ERRORS.get(code, code) + detail + (WARNING_NOTE if severity == WARNING else ""),
            "raw": json.dumps({k: _mask_value(k, str(v)) for k, v in table.frame.loc[idx].items()
                               if k != "_row" and v is not None and not (isinstance(v, float) and pd.isna(v))},
                              ensure_ascii=False),
        })
    return out


def ingest_tables(
    session: Session,
    batch: ImportBatch,
    tables: list[Table],
    progress: Progress | None = None,
    cache: dict[str, Any] | None = None,
) -> FileResult:
    """Load every table of one file (or submission) inside the caller's transaction, and mark the units
    whose figures it changed as stale (etl.aggregate).

    ``cache`` carries the division tree from one file to the next of a run;
    the caller must drop it when the transaction fails or another writer committed meanwhile.
    """
    cache = {} if cache is None else cache
    result = FileResult(file=batch.file_name, sha256=batch.sha256, batch_id=batch.id)
    hierarchy = cache.get("hierarchy") or Hierarchy.load(session)
    loaded_at = batch.started_at
    file_year = functools.cache(lambda: _file_year(tables))  # read only when a date gives no year
    kinds: list[str] = []
    touched: set[str] = set()
    touched_staff: set[str] = set()
    touched_registry: set[str] = set()
    total_rows = sum(len(t.frame) for t in tables)
    done = 0
    for table in sorted(tables, key=lambda t: t.kind.load_rank):
        kinds.append(table.kind.name)
        label = f"{batch.file_name}" + (f" [{table.sheet}]" if table.sheet else "")

        def report(n: int, _label: str = label) -> None:
            nonlocal done
            done += n
            if progress:
                progress(_label, done, total_rows)

        report(0)  # the bar appears before the first rows are written
        frame, errors = normalise_table(table, file_year)
        frame = apply_defaults(table.kind, frame)
        bad = errors.loc[errors["severity"] == ERROR, "idx"].unique() if not errors.empty else []
        ctx = LoadContext(session, batch.id, table.sheet, loaded_at, hierarchy, report, cache)
        counts, load_errors = LOADERS[table.kind.name](ctx, frame.drop(index=bad) if len(bad) else frame)
        hierarchy = cache["hierarchy"] = ctx.hierarchy
        touched |= ctx.touched
        touched_staff |= ctx.touched_staff
        touched_registry |= ctx.touched_registry
        all_errors = rows_rejected(pd.concat([e for e in (errors, load_errors) if not e.empty], ignore_index=True) if (
            not errors.empty or not load_errors.empty) else errors)
        rejects = reject_rows(batch.id, table, frame, all_errors) if not all_errors.empty else []
        if rejects:
            session.execute(Reject.__table__.insert(), rejects)
        is_error = all_errors["severity"] == ERROR if not all_errors.empty else pd.Series(dtype=bool)
        sheet_rejected = int(all_errors.loc[is_error, "idx"].nunique())
        sheet_warnings = int((~is_error).sum())
        if table.kind.name != S.RETURNING_STAFF.name:
            report(len(table.frame))
        result.rows += len(table.frame)
        result.inserted += counts.inserted
        result.updated += counts.updated
        result.unchanged += counts.unchanged
        result.rejected += sheet_rejected
        result.warnings += sheet_warnings
        result.sheets.append({"sheet": table.sheet, "kind": table.kind.name, "rows": len(table.frame),
                              "inserted": counts.inserted, "updated": counts.updated,
                              "unchanged": counts.unchanged, "rejected": sheet_rejected, "warnings": sheet_warnings})
    mark_stale(session, touched, staff=touched_staff)
    mark_figures_stale(session, None, touched_registry)
    result.kind = "+".join(dict.fromkeys(kinds)) if kinds else None
    batch.kind = result.kind
    for attr in ("rows", "inserted", "updated", "unchanged", "rejected", "warnings"):
        setattr(batch, attr, getattr(result, attr))
    batch.status = "loaded"
    batch.finished_at = config.local_now()
    return result


def _supersede_rejects(session: Session, sha: str, batch_id: int) -> None:
    """A file loaded again: the rows its earlier loads rejected are this load's to reject or not."""
    earlier = select(ImportBatch.id).where(ImportBatch.sha256 == sha, ImportBatch.id != batch_id)
    session.execute(delete(Reject).where(Reject.batch_id.in_(earlier)))


def _rows_wanting_a_registry(session: Session, batch_id: int) -> int:
    """Rows of a batch rejected for want of a registry row (etl.normalise.WANTS_A_REGISTRY)."""
    return session.scalar(select(func.count(func.distinct(Reject.row_number))).where(
        Reject.batch_id == batch_id, Reject.severity == "error", Reject.code.in_(sorted(WANTS_A_REGISTRY)))) or 0


def _loaded_batch(session: Session, sha: str) -> ImportBatch | None:
    """The batch that loaded this content before, if any."""
    return session.scalar(select(ImportBatch).where(ImportBatch.sha256 == sha, ImportBatch.status == "loaded").limit(1))


@dataclass
class PlannedFile:
    rank: int  # load order of the kinds it holds (etl.read), -1 when loaded before, 100 when unreadable
    path: Path
    sha: str | None
    tables: list[Table] | None = None  # kept from planning when small enough, else read again
    error: str | None = None


class Ingestor:
    """Takes files in the order that makes sense (divisions, buildings, enterprises, reports)."""

    def __init__(self, engine: Engine, progress: Progress | None = None, log: Callable[[str], None] | None = None,
                 reload: bool = False) -> None:
        """``reload``: load files again even when their content was loaded before (see ``ingest_file``)."""
        self.engine = engine
        self.reload = reload
        self.progress = progress
        self.log = log or (lambda message: print(message, file=sys.stderr))
        self.cache: dict[str, Any] = {}
        self.last_batch: int | None = None  # the batch this run wrote last: the cache holds what it left
        init_db(engine)

    def plan(self, files: list[Path]) -> list[PlannedFile]:
        """Sort files by the kind they hold; files that cannot be read sort last with their error.

        A file whose content was loaded before is not read at all: it will only be reported unchanged.
        """
        planned = []
        cached_bytes = 0
        for path in files:
            sha = file_sha256(path) if path.is_file() else None
            if sha is not None and not self.reload and self._loaded_batch(sha) is not None:
                planned.append(PlannedFile(-1, path, sha))
                continue
            try:
                if path.suffix.lower() in TEXT_SUFFIXES:
                    kinds, tables = sniff_kinds(path), None
                else:
                    tables = read_file(path)
                    kinds = [t.kind for t in tables]
                    size = path.stat().st_size
                    if cached_bytes + size > 256 * 1024**2:
                        tables = None
                    else:
                        cached_bytes += size
                rank = min((k.load_rank for k in kinds), default=99)
                planned.append(PlannedFile(rank, path, sha, tables))
            except UnreadableFile as exc:
                planned.append(PlannedFile(100, path, sha, error=str(exc)))
        planned.sort(key=lambda p: (p.rank, str(p.path)))
        return planned

    def _loaded_batch(self, sha: str) -> ImportBatch | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return _loaded_batch(session, sha)

    def ingest(self, paths: list[Path]) -> list[FileResult]:
        files, skipped = expand_paths(paths)
        for path in skipped:
            self.log(f"skipped {path} (not a spreadsheet)")
        results = [self.ingest_file(p.path, p.tables, p.error, p.sha) for p in self.plan(files)]
        refresh_if_stale(self.engine, self.log)  # also what an earlier, killed run left stale
        return results

    def _valid_cache(self, session: Session) -> None:
        """Drop what the cache holds when another writer committed since this run's last file."""
        latest = session.scalar(select(func.max(ImportBatch.id)))
        if latest != self.last_batch:
            self.cache.clear()

    def ingest_file(self, path: Path, tables: list[Table] | None = None, error: str | None = None,
                    sha: str | None = None) -> FileResult:
        started = config.local_now()
        if sha is None and path.is_file():
            sha = file_sha256(path)
        result = FileResult(file=str(path), sha256=sha)
        try:
            if error is not None:
                raise UnreadableFile(error)
            if tables is None and not (sha and not self.reload and self._loaded_batch(sha)):
                tables = read_file(path)
            with writing(self.engine) as session:
                before = None if self.reload or not sha else _loaded_batch(session, sha)
                if before is not None:  # also a copy of a file loaded earlier in this run, or by another at once
                    result.status, result.batch_id, result.kind, result.rows = "unchanged", before.id, before.kind, before.rows
                    waiting = _rows_wanting_a_registry(session, before.id) if before.rejected else 0
                    self.log(f"{path.name}: unchanged (same content loaded before as batch {before.id})" + (
                        f"; {waiting} of its rows were rejected then for want of a division, street or enterprise: once "
                        "the registry is loaded, `onenet ingest --reload` loads them" if waiting else ""))
                    return result
                assert tables is not None
                self.log(f"{path.name}: " + ", ".join(f"{t.sheet or 'csv'} → {t.kind.label} ({len(t.frame):,} rows)" for t in tables))
                self._valid_cache(session)
                batch = ImportBatch(file_name=path.name, file_path=str(path.resolve()), sha256=sha or "",
                                    status="loading", started_at=started)
                session.add(batch)
                session.flush()
                self.last_batch = batch.id
                if self.reload and sha:
                    _supersede_rejects(session, sha, batch.id)
                loaded = ingest_tables(session, batch, tables, self.progress, self.cache)
            loaded.file = str(path)
            self.log(f"{path.name}: {S.kind_label(loaded.kind)} {loaded.rows:,} rows: {loaded.inserted:,} inserted, "
                     f"{loaded.updated:,} updated, {loaded.unchanged:,} unchanged, {loaded.rejected:,} rejected, "
                     f"{loaded.warnings:,} warnings")
            return loaded
        except UnreadableFile as exc:
            result.status, result.error = "failed", f"{path.name}: {exc}"
        except Exception as exc:  # the transaction rolled back: nothing from this file was kept
            if os.environ.get("ONENET_DEBUG"):
                raise
            result.status = "failed"
            result.error = f"{path.name}: 导入中断，本文件未写入任何数据（{type(exc).__name__}: {exc}）"
        self.cache.clear()  # it may hold what the rolled-back transaction wrote
        self.last_batch = None
        self._record_failure(path, sha, started, result.error or "")
        self.log(f"{path.name}: FAILED, nothing of it stored (the reason is in the table at the end)")
        return result

    def _record_failure(self, path: Path, sha: str | None, started: datetime, error: str) -> None:
        with writing(self.engine) as session:
            session.add(ImportBatch(file_name=path.name, file_path=str(path.resolve()), sha256=sha or "",
                                    status="failed", error=error, started_at=started, finished_at=config.local_now()))
