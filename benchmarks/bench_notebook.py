"""Notebook speed: what a notebook costs over the same code as one .py file.

A generated training module is cut into cells of ~20 lines (with a %pip cell, markdown cells and
shell escapes, as notebooks have them). Prints medians of the notebook engine and of the file
engine on the same code (the baseline), and their ratio, measured in this run; no assertions.
"scan nb" parses every cell from scratch; "edit nb" is a keystroke in the editor: one cell
changed, the other cells' parses cached.

Run: python benchmarks/bench_notebook.py
"""

from __future__ import annotations

import sys
from itertools import count
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _gen.training_code import generate_module  # noqa: E402
from switcheroo_lsp.engine import fix_all, scan  # noqa: E402
from switcheroo_lsp.engine.notebook import NotebookCell, fix_notebook, scan_notebook  # noqa: E402
from timing import median_ms  # noqa: E402

SCAN_MODULE = sys.modules["switcheroo_lsp.engine.scan"]
EDITS = count()  # a new text for every simulated keystroke
NOTEBOOK_MODULE = sys.modules["switcheroo_lsp.engine.notebook"]


def cold() -> None:
    """Forget every cached parse, so each run pays for its own."""
    SCAN_MODULE._CACHE.clear()
    NOTEBOOK_MODULE._parse.cache_clear()
    NOTEBOOK_MODULE.mask_magics.cache_clear()


def as_cells(text: str, lines_per_cell: int = 20) -> list[NotebookCell]:
    """Cut a module into cells at top-level statement boundaries, with notebook furniture."""
    cells = [
        NotebookCell("# Training\nGenerated.", is_code=False),
        NotebookCell("%pip install -q torch"),
    ]
    current: list[str] = []
    for line in text.splitlines():
        starts_statement = line[:1] not in ("", " ", "\t", ")", "]", "}") and not line.startswith(
            ('"', "'", "#")
        )
        if len(current) >= lines_per_cell and starts_statement:
            cells.append(NotebookCell("!nvidia-smi\n" + "\n".join(current)))
            current = []
        current.append(line)
    cells.append(NotebookCell("\n".join(current)))
    return cells


def main() -> None:
    print(
        f"{'lines':>6} {'cells':>6} {'scan .py':>10} {'scan nb':>10} {'ratio':>6}"
        f" {'edit nb':>10} {'ratio':>6} {'fix .py':>10} {'fix nb':>10} {'ratio':>6}"
    )
    for lines in (500, 2000, 8000):
        text = generate_module(lines, with_calls=True)
        cells = as_cells(text)
        joined = text  # the same code as one file: the baseline
        runs = 15 if lines <= 2000 else 5

        def file_scan(joined: str = joined) -> object:
            cold()
            return scan(joined)

        def notebook_scan(cells: list[NotebookCell] = cells) -> object:
            cold()
            return scan_notebook(cells)

        def file_fix(joined: str = joined) -> object:
            cold()
            return fix_all(joined)

        def notebook_fix(cells: list[NotebookCell] = cells) -> object:
            cold()
            return fix_notebook(cells)

        def notebook_edit(
            cells: list[NotebookCell] = cells,
        ) -> object:
            """A keystroke in the editor: one cell changed, the others' parses are cached."""
            SCAN_MODULE._CACHE.clear()
            changed = NotebookCell(f"{cells[-1].text}\n# edit {next(EDITS)}")
            return scan_notebook([*cells[:-1], changed])

        a, b = median_ms(file_scan, runs), median_ms(notebook_scan, runs)
        scan_notebook(cells)  # warm the per-cell cache
        e = median_ms(notebook_edit, runs)
        c, d = median_ms(file_fix, max(3, runs // 3)), median_ms(notebook_fix, max(3, runs // 3))
        print(
            f"{lines:>6} {len(cells):>6} {a:>8.1f}ms {b:>8.1f}ms {b / a:>6.2f}"
            f" {e:>8.1f}ms {e / a:>6.2f} {c:>8.1f}ms {d:>8.1f}ms {d / c:>6.2f}"
        )


if __name__ == "__main__":
    main()
