"""Read: a file on disk → the tables it holds, each with its detected source kind.

Spreadsheets arrive with title rows above the header, merged two-row headers, several sheets
(some hidden, some notes without a table), totals rows and blank rows.  This module finds the
header of every sheet, maps the header cells to canonical fields (``schemas.sources``) and returns
the data rows as raw values with their row number in the file.  It never interprets values: that
is ``etl.normalise``'s job.

Workbooks are read by python-calamine (every format, merged cells, cells as Python values); CSV by
Arrow's reader, else pandas'.
"""
from __future__ import annotations

import csv
import gc
import io
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import python_calamine

from etl import config
from etl.guards import UnreadableFile, count_lines, guard_zip, too_many_cells, too_many_rows, too_many_sheet_rows
from etl.text import clean_scalar, header_key, strip_controls, strip_controls_arrow, strip_controls_column
from schemas import sources as S

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
TEXT_SUFFIXES = {".csv", ".txt", ".tsv"}
JSON_LINES_SUFFIXES = {".jsonl", ".ndjson"}
SUPPORTED_SUFFIXES = EXCEL_SUFFIXES | TEXT_SUFFIXES | JSON_LINES_SUFFIXES
HEADER_SEARCH_ROWS = 25
LEAD_COLUMNS = 4
BLOCK_ROWS = 50_000
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass
class Table:
    """The data rows of one sheet, columns named by canonical field, plus ``_row`` (1-based)."""

    kind: S.SourceKind
    sheet: str | None
    frame: pd.DataFrame
    headers: dict[str, str] = field(default_factory=dict)  # canonical field → header as written
    ignored_headers: list[str] = field(default_factory=list)


@dataclass
class HeaderMatch:
    kind: S.SourceKind
    score: int
    header_rows: int  # 1 or 2
    row_index: int
    columns: dict[int, str]  # column index → canonical field
    labels: dict[int, str]  # column index → header text as written


_SPELLINGS: dict[str, dict[str, str]] = {
    kind.name: {header_key(sp): f.name for f in kind.fields for sp in (*f.spellings, f.name)}
    for kind in S.SOURCE_KINDS
}


def _match_row(labels: dict[int, str], kind: S.SourceKind) -> dict[int, str]:
    lookup = _SPELLINGS[kind.name]
    columns: dict[int, str] = {}
    seen: set[str] = set()
    for col, label in labels.items():
        name = lookup.get(header_key(label))
        if name and name not in seen:
            columns[col] = name
            seen.add(name)
    return columns


def _acceptable(kind: S.SourceKind, fields: set[str]) -> bool:
    if any(f.required and f.name not in fields for f in kind.fields):
        return False
    if len(fields) < kind.min_fields:
        return False
    if kind is S.REOPENING_REPORT:
        return bool(fields & {"enterprise_name", "uscc"}) and bool(fields & kind.distinctive)
    if kind is S.BUILDING_REGISTRY:
        return "enterprise_name" not in fields and "id_number" not in fields
    if kind is S.ENTERPRISE_REGISTRY:
        return not fields & (S.REOPENING_REPORT.distinctive | {"id_number"})
    return True


def _row_labels(row: Sequence[Any]) -> dict[int, str]:
    return {i: text for i, v in enumerate(row) if (text := clean_scalar(v)) is not None}


def find_header(rows: Sequence[Sequence[Any]]) -> HeaderMatch | None:
    """Best (kind, header position) among the first rows; two-row merged headers are tried too."""
    best: HeaderMatch | None = None
    for i in range(min(HEADER_SEARCH_ROWS, len(rows))):
        upper = _row_labels(rows[i])
        if not upper:
            continue
        candidates: list[tuple[int, dict[int, str]]] = [(1, upper)]
        if i + 1 < len(rows):
            lower = _row_labels(rows[i + 1])
            if lower:
                candidates.append((2, {**upper, **lower}))
        for kind in S.SOURCE_KINDS:
            for header_rows, labels in candidates:
                if header_rows == 2:
                    # Take the sub-header where it names a field, else the merged cell above it.
                    lower_cols = _match_row(_row_labels(rows[i + 1]), kind)
                    upper_cols = _match_row(upper, kind)
                    columns = dict(upper_cols)
                    for col, name in lower_cols.items():
                        columns = {c: n for c, n in columns.items() if n != name}
                        columns[col] = name
                else:
                    columns = _match_row(labels, kind)
                fields = set(columns.values())
                if not _acceptable(kind, fields):
                    continue
                score = len(fields) + 2 * len(fields & kind.distinctive)
                better = best is None or score > best.score or (
                    score == best.score and (header_rows, kind.load_rank) < (best.header_rows, best.kind.load_rank)
                    and i <= best.row_index
                )
                if better:
                    best = HeaderMatch(kind, score, header_rows, i, columns, labels)
    return best


def _first_cell_text(frame: pd.DataFrame) -> pd.Series:
    """The first non-empty cell of each row among its first four columns, compacted."""
    first = None
    for column in [c for c in frame.columns if c != "_row"][:LEAD_COLUMNS]:
        text = frame[column].astype("string[pyarrow]")
        first = text if first is None else first.fillna(text)
    return first.str.replace(r"[ \t\r\n]", "", regex=True).str.lower()


def _drop_non_data(frame: pd.DataFrame, mapped: list[int], header_keys: set[str]) -> pd.DataFrame:
    """Blank rows, totals rows (合计, 总计 …) and header rows repeated below the header.

    ``frame`` holds the sheet's leading columns besides the mapped ones, because the 合计 marker
    usually sits in the 序号 column, which maps to no field.
    """
    keep = frame[mapped].notna().any(axis=1)
    if keep.any():
        first = _first_cell_text(frame)
        keep &= ~first.str.startswith(S.TOTAL_ROW_MARKERS).fillna(False).astype(bool)
        keep &= ~first.isin(header_keys).fillna(False).astype(bool)
    return frame.loc[keep, [*mapped, "_row"]].reset_index(drop=True)


def _column(chunks: list[pa.Array | np.ndarray]) -> pd.Series:
    """A column of cells from its blocks (see ``_column_chunk``): Arrow strings when it holds only
    text (empty cells missing), so that normalising runs in Arrow's kernels; Python objects when
    numbers or dates are mixed in."""
    if all(isinstance(chunk, pa.Array) for chunk in chunks):
        return _text_column(pa.concat_arrays(chunks) if chunks else pa.array([], pa.string()))
    values = np.concatenate([c.to_numpy(zero_copy_only=False) if isinstance(c, pa.Array) else c for c in chunks])
    cells = pd.Series(values, dtype=object).map(lambda v: strip_controls(v) if isinstance(v, str) else v)
    return cells.replace("", None)


def _column_chunk(values: np.ndarray) -> pa.Array | np.ndarray:
    """A block of a column: compact Arrow text when it is all text, else the cells themselves."""
    try:
        return pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return values.copy()  # not a view, which would keep the block's every cell alive


def _text_column(array: pa.Array) -> pd.Series:
    """Arrow text cells as a column, control characters removed, empty cells missing."""
    array = strip_controls_arrow(array)
    array = pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)
    return pd.Series(pd.arrays.ArrowStringArray(array), dtype="string[pyarrow]")


def _kept_columns(match: HeaderMatch) -> list[int]:
    """The mapped columns and the leading ones (where 合计 usually sits), in sheet order."""
    return sorted(set(match.columns) | set(range(LEAD_COLUMNS)))


def _table(match: HeaderMatch, sheet: str | None, frame: pd.DataFrame, first_data_row: int) -> Table:
    """The data rows of ``frame`` (the kept columns below the header) as a Table of canonical fields."""
    cols = sorted(match.columns)
    frame["_row"] = range(first_data_row, first_data_row + len(frame))
    frame = _drop_non_data(frame, cols, {header_key(label) for label in match.labels.values()})
    frame.columns = [*(match.columns[c] for c in cols), "_row"]
    ignored = [label for c, label in match.labels.items() if c not in match.columns]
    headers = {match.columns[c]: match.labels.get(c, match.columns[c]) for c in cols}
    return Table(match.kind, sheet, frame, headers, ignored)


def table_from_rows(rows: list[list[Any]], sheet: str | None, first_row_number: int) -> Table | None:
    """Detect the header of a sheet's rows and keep its data rows (raw values, row numbers)."""
    match = find_header(rows)
    if match is None:
        return None
    start = match.row_index + match.header_rows
    return _table(match, sheet, _frame_from_blocks([rows[start:]], match), first_row_number + start)


def _frame_from_blocks(blocks: Iterable[list[list[Any]]], match: HeaderMatch) -> pd.DataFrame:
    """The kept columns of data rows that come in blocks; each block becomes compact columns before
    the next is read, so a big sheet is never all Python objects at once."""
    kept = _kept_columns(match)
    chunks: dict[int, list[pa.Array | np.ndarray]] = {c: [] for c in kept}
    for body in blocks:
        width = max(max(kept) + 1, max(map(len, body), default=0))
        if min(map(len, body), default=width) < width:
            body = [r + [None] * (width - len(r)) if len(r) < width else r for r in body]
        grid = np.empty((len(body), width), dtype=object)  # rows → columns in C (Arrow takes ndarray columns 4x faster than tuples)
        if body:
            grid[:] = body
        for c in kept:
            chunks[c].append(_column_chunk(grid[:, c]))
        del body, grid
    return pd.DataFrame({c: _column(chunks.pop(c)) for c in kept})



# --- file formats ---------------------------------------------------------------------------


def _check_encrypted(path: Path, head: bytes) -> None:
    if not head.startswith(OLE_MAGIC):
        return
    import msoffcrypto  # noqa: PLC0415 - only for OLE files

    try:
        with path.open("rb") as fh:
            encrypted = msoffcrypto.OfficeFile(fh).is_encrypted()
    except Exception:
        encrypted = path.suffix.lower() in {".xlsx", ".xlsm"}
    if encrypted:
        raise UnreadableFile("文件设有打开密码，无法读取：请在 Excel 中取消密码（文件→信息→保护工作簿）后另存再导入")


def _fill_merged(rows: list[list[Any]], ranges: list[tuple[tuple[int, int], tuple[int, int]]], start: tuple[int, int],
                 anchors: dict[tuple[int, int], Any] | None = None) -> None:
    """A merged range means its value for every cell it covers, as a person reading the sheet takes it.

    ``rows`` may be one block of a sheet, ``start`` the sheet position of its first cell;
    ``anchors`` carries the value of a range that began in an earlier block to the later ones."""
    anchors = {} if anchors is None else anchors
    for (r0, c0), (r1, c1) in ranges:
        key = (r0, c0)
        r0, r1, c0, c1 = r0 - start[0], r1 - start[0], c0 - start[1], c1 - start[1]
        if 0 <= r0 < len(rows) and 0 <= c0 < len(rows[r0]):
            anchors[key] = rows[r0][c0]
        if key not in anchors or r1 < 0 or r0 >= len(rows) or c0 < 0:
            continue
        value = anchors[key]
        for r in range(max(r0, 0), min(r1, len(rows) - 1) + 1):
            row = rows[r]
            if len(row) <= c1:
                row.extend([""] * (c1 + 1 - len(row)))
            for c in range(c0, c1 + 1):
                row[c] = value


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold off the cycle collector while a sheet becomes Python rows and then columns.

    A sheet of 100,000 rows is a million new objects, none in a cycle, and each thousand of them
    would otherwise start a collection that walks everything the process holds: about a tenth of a
    second per such sheet for nothing.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


HeaderFinder = Callable[[Sequence[Sequence[Any]]], "HeaderMatch | None"]
"""Finds a table's header among a sheet's first rows: find_header for the source kinds; a collection's answers
bring their own (etl.collection_intake)."""


def _sheet_table(sheet: python_calamine.CalamineSheet, finder: HeaderFinder) -> Table | None:
    """A sheet's header found in its first rows, then its data rows read in blocks, merged cells filled."""
    start = sheet.start or (0, 0)
    ranges = sheet.merged_cell_ranges or []
    anchors: dict[tuple[int, int], Any] = {}
    rows = itertools.islice(sheet.iter_rows(), start[0], None)  # it yields the empty rows above the table too
    head = list(itertools.islice(rows, HEADER_SEARCH_ROWS + 1))
    _fill_merged(head, ranges, start, anchors)
    match = finder(head)
    if match is None:
        return None
    first = match.row_index + match.header_rows

    def blocks() -> Iterator[list[list[Any]]]:
        yield head[first:]
        at = start[0] + len(head)
        while block := list(itertools.islice(rows, BLOCK_ROWS)):
            _fill_merged(block, ranges, (at, start[1]), anchors)
            at += len(block)
            yield block

    return _table(match, sheet.name, _frame_from_blocks(blocks(), match), start[0] + 1 + first)


def read_excel_tables(path: Path, finder: HeaderFinder = find_header) -> list[Table]:
    """Every sheet with a recognisable header as a Table (python-calamine parses every format)."""
    head = path.open("rb").read(8)
    _check_encrypted(path, head)
    if head.startswith(b"PK"):
        guard_zip(path)
    try:
        workbook = python_calamine.CalamineWorkbook.from_path(str(path))
        tables, rows, cells = [], 0, 0
        with gc_paused():
            for name in workbook.sheet_names:
                sheet = workbook.get_sheet_by_name(name)
                if sheet.height > config.EXCEL_MAX_ROWS:
                    raise too_many_sheet_rows(name, sheet.height)
                rows += sheet.height
                if rows > config.MAX_ROWS:
                    raise too_many_rows(rows)
                cells += sheet.height * sheet.width
                if cells > config.MAX_CELLS:  # formats without a count while inflating (.xls, .ods)
                    raise too_many_cells(cells)
                if (table := _sheet_table(sheet, finder)) is not None:
                    tables.append(table)
                del sheet
        return tables
    except UnreadableFile:
        raise
    except Exception as exc:  # calamine raises several unrelated types for broken files
        raise UnreadableFile(f"文件已损坏或格式不对，无法读取（{type(exc).__name__}: {exc}）：请用 Excel 打开后另存为 .xlsx 再导入") from exc


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start > len(sample) - 4:  # a character cut at the end of the sample
            return "utf-8"
        return "gb18030"


def _looks_binary(head: bytes) -> bool:
    """NUL bytes as one byte in twenty or more mean a binary file (or UTF-16); a stray NUL in a cell does not."""
    return head.count(b"\x00") > max(8, len(head) // 20)


def read_csv_table(path: Path, head_only: bool = False, finder: HeaderFinder = find_header) -> Table | None:
    """A CSV (UTF-8, UTF-8 with BOM, GBK/GB18030), comma, tab or semicolon separated."""
    with path.open("rb") as fh:
        sample = fh.read(256 * 1024)
    if not sample.strip():
        raise UnreadableFile("文件是空的：请检查导出是否成功")
    if _looks_binary(sample[:4096]):
        raise UnreadableFile("不是文本格式的 CSV 文件（含二进制内容）：请检查文件类型")
    encoding = detect_encoding(sample)
    text = sample.decode(encoding, errors="replace")
    lines = text.splitlines()[: HEADER_SEARCH_ROWS + 2]
    try:
        dialect = csv.Sniffer().sniff("\n".join(lines[:10]), delimiters=",\t;|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    head_rows = [row for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)]
    match = finder(head_rows)
    if match is None:
        return None
    skip = match.row_index + match.header_rows
    if head_only:
        return Table(match.kind, None, pd.DataFrame())
    if (lines := count_lines(path)) > config.MAX_ROWS:
        raise too_many_rows(lines, "行（按换行计）")
    cols = sorted(match.columns)
    width = max(max(cols) + 1, max((len(r) for r in head_rows[skip:]), default=0))
    read_cols = sorted(set(cols) | set(range(min(LEAD_COLUMNS, width))))
    if lines * len(read_cols) > config.MAX_CELLS:
        raise too_many_cells(lines * len(read_cols))
    frame = _read_csv_arrow(path, encoding, delimiter, skip, read_cols)
    if frame is None:
        try:
            frame = pd.read_csv(
                path, encoding=encoding, sep=delimiter, header=None, skiprows=skip, dtype=str,
                keep_default_na=False, na_values=[""], names=range(width), usecols=read_cols,
                skip_blank_lines=False, engine="c",
            )
        except UnicodeDecodeError:
            frame = pd.read_csv(
                path, encoding="gb18030", sep=delimiter, header=None, skiprows=skip, dtype=str,
                keep_default_na=False, na_values=[""], names=range(width), usecols=read_cols,
                skip_blank_lines=False, engine="c",
            )
        except (pd.errors.ParserError, ValueError) as exc:
            raise UnreadableFile(f"CSV 格式错误，无法解析（{exc}）：请用 Excel 打开后另存为 CSV 再导入") from exc
    for column in frame.columns:
        frame[column] = strip_controls_column(frame[column].astype("string[pyarrow]"))
    frame["_row"] = range(skip + 1, skip + 1 + len(frame))
    frame = _drop_non_data(frame, cols, {header_key(label) for label in match.labels.values()})
    frame.columns = [*(match.columns[c] for c in cols), "_row"]
    headers = {match.columns[c]: match.labels.get(c, match.columns[c]) for c in cols}
    ignored = [label for c, label in match.labels.items() if c not in match.columns]
    return Table(match.kind, None, frame, headers, ignored)


def _read_csv_arrow(path: Path, encoding: str, delimiter: str, skip: int, cols: list[int]) -> pd.DataFrame | None:
    """Arrow's multi-threaded reader for well-formed UTF-8 files; None sends the file to pandas' C reader.

    Blank lines are kept as rows so that row numbers stay those a person sees in the file.
    """
    if encoding not in ("utf-8", "utf-8-sig"):
        return None
    irregular = []
    try:
        table = pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(skip_rows=skip,
                                            autogenerate_column_names=True, encoding="utf8"),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, ignore_empty_lines=False,
                                              invalid_row_handler=lambda row: irregular.append(row) or "skip"),
            convert_options=pa_csv.ConvertOptions(
                include_columns=[f"f{c}" for c in cols], include_missing_columns=True,
                column_types={f"f{c}": pa.string() for c in cols}, strings_can_be_null=True,
                null_values=[""], quoted_strings_can_be_null=True),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    if irregular:
        return None
    frame = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
    frame.columns = cols
    return frame


def check_file(path: Path) -> None:
    if not path.exists():
        raise UnreadableFile("文件不存在")
    size = path.stat().st_size
    if size == 0:
        raise UnreadableFile("文件是空的（0 字节）：请检查导出是否成功")
    if size > config.MAX_FILE_BYTES:
        raise UnreadableFile(f"文件超过 {config.MAX_FILE_BYTES / 1024**3:.0f} GB：请拆分后导入")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise UnreadableFile(f"不支持的文件类型 {path.suffix}：请导入 .xlsx、.xls、.csv 或表单工具导出的 .jsonl")


def read_tables(path: Path) -> list[Table]:
    """All tables in a spreadsheet or CSV; raises UnreadableFile when nothing in it can be read.

    Form-tool exports (.jsonl) are read by etl.formtool."""
    check_file(path)
    if path.suffix.lower() in TEXT_SUFFIXES:
        table = read_csv_table(path)
        tables = [table] if table else []
    else:
        tables = read_excel_tables(path)
    if not tables:
        raise no_header_found()
    return tables


def no_header_found() -> UnreadableFile:
    kinds = "、".join(k.label for k in S.SOURCE_KINDS)
    return UnreadableFile(f"找不到可识别的表头（支持：{kinds}）：请确认表头包含如 姓名、身份证号 或 企业名称 等列名")


def sniff_kinds(path: Path) -> list[S.SourceKind]:
    """The kinds a file holds, cheaply where the format allows (used to order a batch of files)."""
    check_file(path)
    if path.suffix.lower() in TEXT_SUFFIXES:
        table = read_csv_table(path, head_only=True)
        return [table.kind] if table else []
    return [t.kind for t in read_tables(path)]
