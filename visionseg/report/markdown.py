"""The report as Markdown: the same sections and tables, figures as files beside it."""

from __future__ import annotations

from visionseg.report.document import Figure, ImageGrid, Section, Table, fmt


def render_markdown(title: str, sections: list[Section], figure_dir: str = "figures") -> str:
    lines = [f"# {title}", ""]
    for section in sections:
        lines += [f"## {section.title}", ""]
        for paragraph in section.paragraphs:
            if paragraph:
                lines += [paragraph, ""]
        for item in section.items:
            if isinstance(item, Table):
                lines += _table(item)
            elif isinstance(item, ImageGrid):
                lines += _grid(item, figure_dir)
            else:
                lines += _figure(item, figure_dir)
    return "\n".join(lines).rstrip() + "\n"


def _cell(value, signed: bool) -> str:
    return fmt(value, signed=signed).replace("|", "\\|").replace("\n", " ")


def _table(table: Table) -> list[str]:
    lines = [f"### {table.title}", ""]
    lines.append("| " + " | ".join(_cell(h, False) for h in table.header) + " |")
    lines.append("|" + "|".join("---" for _ in table.header) + "|")
    for row in table.rows:
        lines.append("| " + " | ".join(_cell(v, i in table.signed) for i, v in enumerate(row))
                     + " |")
    lines.append("")
    if table.note:
        lines += [table.note, ""]
    return lines


def _figure(figure: Figure, figure_dir: str) -> list[str]:
    return [f"![{figure.caption}]({figure_dir}/{figure.key}.png)", ""]


def grid_file(grid: ImageGrid, index: int) -> str:
    """File name of one grid cell under the figure folder."""
    return f"{grid.key}_{index:02d}.png"


def _grid(grid: ImageGrid, figure_dir: str, per_row: int = 4) -> list[str]:
    lines = [f"### {grid.title}", ""]
    cells = [f"![{caption}]({figure_dir}/{grid_file(grid, i)})<br>{_cell(caption, False)}"
             for i, (caption, _) in enumerate(grid.cells)]
    for start in range(0, len(cells), per_row):
        row = cells[start : start + per_row]
        if start == 0:
            lines.append("| " + " | ".join(" " for _ in row) + " |")
            lines.append("|" + "|".join("---" for _ in row) + "|")
        lines.append("| " + " | ".join(row) + " |")
    return lines + [""]
