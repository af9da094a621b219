"""Limits on what one input file may cost, enforced while reading it (docs/sources.md, "Limits").

A workbook is a zip archive whose entries say how big they are once inflated; a hostile file can say
less than the truth, and a parser that trusts it inflates gigabytes.  So every entry is inflated
here first, in small pieces, counting the bytes that really come out and the rows of each worksheet,
and the file is refused as soon as a limit is passed — before python-calamine sees it.  A CSV's
lines are counted before it is parsed.
"""
from __future__ import annotations

import re
import struct
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO

from etl import config

CHUNK = 1 << 20
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, …, file name length, extra field length
_WORKSHEET = re.compile(r"xl/worksheets/[^/]+\.xml$", re.IGNORECASE)
_PREFIXED_TAGS = re.compile(rb"<[A-Za-z_][\w.-]*:(row|c)[\s>/]")
_TAG_TAIL = 64  # bytes kept from the end of a piece, so that a row tag cut in two is counted once


class UnreadableFile(Exception):
    """The file cannot be read at all; the message says why and what to do."""


def too_many_rows(rows: int, counted_as: str = "行") -> UnreadableFile:
    limit = config.MAX_ROWS
    return UnreadableFile(f"文件超过单个文件 {limit:,} 行的上限（已读到 {rows:,} {counted_as}）：请按街道或日期拆分为"
                          f"多个文件，每个不超过 {limit:,} 行，再分别导入")


def too_many_cells(cells: int) -> UnreadableFile:
    limit = config.MAX_CELLS
    return UnreadableFile(f"文件超过单个文件 {limit:,} 个单元格的上限（已读到 {cells:,} 个）：请删去不需要导入的列，"
                          "或按街道或日期拆分为多个文件，再分别导入")


def too_many_sheet_rows(sheet: str, rows: int) -> UnreadableFile:
    return UnreadableFile(f"工作表 {sheet} 至少有 {rows:,} 行，超过 Excel 每个工作表 {config.EXCEL_MAX_ROWS:,} 行的上限，"
                          "文件不是 Excel 保存的或已被篡改：请拆分为多个文件后导入")


def guard_zip(path: Path) -> None:
    """Refuse zip bombs and oversized workbooks by inflating every entry and counting what comes out."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise UnreadableFile("文件已损坏，不是有效的 Excel 文件：请从原系统重新导出或另存为 .xlsx") from exc
    declared = 0
    for info in entries:
        declared += info.file_size
        if info.compress_size and info.file_size / info.compress_size > config.MAX_ZIP_RATIO and info.file_size > 50 * 1024**2:
            raise UnreadableFile(
                f"压缩比异常（{info.filename} 解压后 {info.file_size / 1024**2:.0f} MB），疑似 zip 炸弹，已拒绝读取；请从原系统重新导出"
            )
    if declared > config.MAX_UNZIPPED_BYTES:
        raise _too_big()
    inflated = rows = cells = 0
    with path.open("rb") as raw:
        for info in entries:
            sheet = bool(_WORKSHEET.match(info.filename))
            size, rows, cells = _inflate(raw, info, config.MAX_UNZIPPED_BYTES - inflated, sheet, rows, cells)
            inflated += size


def _too_big() -> UnreadableFile:
    return UnreadableFile(f"解压后超过 {config.MAX_UNZIPPED_BYTES / 1024**2:,.0f} MB，已拒绝读取；请拆分文件后导入")


def _inflate(raw: BinaryIO, info: zipfile.ZipInfo, budget: int, count_rows: bool,
             rows_before: int, cells_before: int) -> tuple[int, int, int]:
    """Bytes an entry really inflates to, and the file's worksheet rows and cells with its own; refused
    as soon as a limit is passed: ``budget`` bytes, its declared size, Excel's rows, the row and cell caps."""
    raw.seek(info.header_offset)
    signature, name_length, extra_length = _LOCAL_HEADER.unpack(raw.read(_LOCAL_HEADER.size))
    if signature != b"PK\x03\x04":
        raise UnreadableFile(f"文件已损坏（{info.filename} 的位置不对）：请从原系统重新导出或另存为 .xlsx")
    raw.seek(name_length + extra_length, 1)
    if info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    elif info.compress_type != zipfile.ZIP_STORED:
        raise UnreadableFile(f"文件使用了不支持的压缩方式（{info.filename}）：请用 Excel 打开后另存为 .xlsx 再导入")
    else:
        inflater = None
    left, produced, rows, cells, tail = info.compress_size, 0, rows_before, cells_before, b""
    while left > 0 and not (inflater and inflater.eof):
        piece = raw.read(min(CHUNK, left))
        if not piece:
            break
        left -= len(piece)
        while piece:
            if inflater is None:
                data, piece = piece, b""
            else:
                data = inflater.decompress(piece, CHUNK)
                piece = inflater.unconsumed_tail
            produced += len(data)
            if produced > budget:
                raise _too_big()
            if produced > info.file_size:
                raise UnreadableFile(f"文件已损坏或被篡改（{info.filename} 解压后比它声明的 {info.file_size:,} 字节更大），"
                                     "已拒绝读取：请从原系统重新导出")
            if count_rows:
                text = tail + data
                new_rows, new_cells = _tags(text)
                old_rows, old_cells = _tags(tail)
                rows, cells, tail = rows + new_rows - old_rows, cells + new_cells - old_cells, text[-_TAG_TAIL:]
                if rows - rows_before > config.EXCEL_MAX_ROWS:
                    raise too_many_sheet_rows(info.filename, rows - rows_before)
                if rows > config.MAX_ROWS:
                    raise too_many_rows(rows)
                if cells > config.MAX_CELLS:
                    raise too_many_cells(cells)
    return produced, rows, cells


def _tags(xml: bytes) -> tuple[int, int]:
    """Row and cell elements in a piece of worksheet XML (``<row …>``, ``<c …>``, or with a namespace prefix)."""
    rows = xml.count(b"<row ") + xml.count(b"<row>")
    cells = xml.count(b"<c ") + xml.count(b"<c>")
    if b":row" in xml or b":c " in xml:
        for tag in _PREFIXED_TAGS.findall(xml):
            rows, cells = (rows + 1, cells) if tag == b"row" else (rows, cells + 1)
    return rows, cells


def count_lines(path: Path) -> int:
    """Lines of a text file (a cell with a line break inside counts twice), read in pieces."""
    lines = 0
    with path.open("rb") as fh:
        while piece := fh.read(16 * CHUNK):
            lines += piece.count(b"\n")
            if lines > config.MAX_ROWS + 1:
                break
    return lines
