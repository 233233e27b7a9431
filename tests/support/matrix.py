"""The end-to-end matrix's table: every way to build an environment against every way to use it, each cell's
verdict and time, and the table printed at the end of the run with its counts."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Cell:
    build: str
    use: str
    ok: bool
    detail: str = ""
    seconds: float = 0.0


@dataclass
class Table:
    """Rows (ways to build) and columns (ways to use) in the order they were declared, and the cells found."""

    rows: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    builds: dict[str, float] = field(default_factory=dict)  # seconds each environment took to build
    wall: float = 0.0  # the whole matrix, builds and uses

    def add(self, cell: Cell) -> None:
        self.cells[(cell.build, cell.use)] = cell

    def lines(self) -> list[str]:
        if not self.cells:
            return []
        width = max(len(r) for r in self.rows)
        heads = [f"{i + 1}" for i in range(len(self.columns))]
        out = [f"{'build way':<{width}}  {'  '.join(f'{h:>5}' for h in heads)}  build"]
        for row in self.rows:
            marks = []
            for column in self.columns:
                cell = self.cells.get((row, column))
                marks.append("    ?" if cell is None else f"{'✓' if cell.ok else '✗'}{cell.seconds:4.0f}")
            out.append(f"{row:<{width}}  {'  '.join(marks)}  {self.builds.get(row, 0.0):4.0f}s")
        out += [f"  {i + 1}: {c}" for i, c in enumerate(self.columns)]
        passed = sum(1 for c in self.cells.values() if c.ok)
        expected = len(self.rows) * len(self.columns)
        out.append(
            f"matrix: {len(self.rows)} ways to build x {len(self.columns)} ways to use = {expected} cells;"
            f" {len(self.cells)} run, {passed} passed, {len(self.cells) - passed} failed"
            f" ({self.wall:.0f} s in all, builds {sum(self.builds.values()):.0f} s of it summed)"
        )
        out += [f"  ✗ {c.build} / {c.use}: {c.detail}" for c in self.cells.values() if not c.ok]
        return out


TABLE = Table()
