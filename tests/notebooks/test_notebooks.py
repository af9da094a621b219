"""Every notebook under notebooks/ runs top to bottom against a demo database.

The database is a copy of the run's demo city (``demo_build`` of tests/conftest.py: generated and loaded by the
real `onenet ingest` once per run), in a temporary folder; each notebook then runs in a real Jupyter kernel
(nbclient) whose environment points $ONENET_DB at it and puts this tree first on the path.  `onenet demo` itself
is tested in tests/etl/democity/test_demo_end_to_end.py.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from openpyxl import load_workbook

from tests.conftest import demo_database

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
NETWORK = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|import\s*["'](?:https?:)?//""", re.IGNORECASE)


@pytest.fixture(scope="session")
def demo_db(demo_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a copy of the demo database (~300 enterprises, ~1,000 returning staff over 16 districts: every
    chart has data), the same for all notebooks, which only read it."""
    with demo_database(demo_build, "sqlite", tmp_path_factory.mktemp("notebook_demo")) as url:
        yield url


def test_notebooks_are_committed_without_outputs() -> None:
    assert [nb.name for nb in NOTEBOOKS] == ["01_reopening_by_district.ipynb", "02_data_quality.ipynb",
                                            "03_returning_staff.ipynb"]
    for path in NOTEBOOKS:
        book = nbformat.read(path, as_version=4)
        nbformat.validate(book)
        for cell in book.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear the outputs"
            assert "SPEC" not in cell.source, f"{path.name}: say the rule in plain words, not a section of a document outside the repository"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path, demo_db: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "ONENET_DB": demo_db, "ONENET_NOTEBOOK_OUT": str(out),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    book = nbformat.read(path, as_version=4)
    client = NotebookClient(book, timeout=600, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=env)  # raises CellExecutionError, with the cell and traceback, on any error

    shown = [data for cell in book.cells if cell.cell_type == "code" for o in cell.outputs
             for data in o.get("data", {}).values() if isinstance(data, str)]
    assert shown, "the notebook shows nothing"
    assert not [s for s in shown if NETWORK.search(s)], "an output loads something from the network"
    assert not list((tmp_path / "output").glob("*")), "exports go to $ONENET_NOTEBOOK_OUT"
    if path.name.startswith("01_"):
        (workbook,) = out.glob("*.xlsx")
        sheets = load_workbook(workbook, read_only=True)
        first = next(sheets.worksheets[0].iter_rows(max_row=1, values_only=True))
        assert "复工率" in first and "名称" in first, first
