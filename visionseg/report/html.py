"""One self-contained HTML page: inline CSS, images as base64 data URIs, no network."""

from __future__ import annotations

import base64
import html

from visionseg.report.document import Figure, ImageGrid, Section, Table, fmt

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;
max-width:1400px;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:.2em;
margin-top:2em}h3{font-size:1.05em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:right}
th{background:#f3f3f3}td.t,th.t{text-align:left}
tr:nth-child(even) td{background:#fafafa}
.note{color:#555;font-size:.85em;max-width:1000px}
figure{margin:1em 0}figure img{max-width:100%}figcaption{color:#555;font-size:.85em}
.scroll{overflow-x:auto}
.grid{display:flex;flex-wrap:wrap;gap:.6em}.grid figure{margin:0;width:200px}
.grid img{width:200px;image-rendering:pixelated}
"""


def render_html(title: str, sections: list[Section]) -> str:
    body = [f"<h1>{html.escape(title)}</h1>"]
    body.append("<nav><ul>" + "".join(
        f'<li><a href="#s{i}">{html.escape(s.title)}</a></li>' for i, s in enumerate(sections)
    ) + "</ul></nav>")
    for i, section in enumerate(sections):
        body.append(f'<h2 id="s{i}">{html.escape(section.title)}</h2>')
        body += [f"<p>{html.escape(p)}</p>" for p in section.paragraphs if p]
        for item in section.items:
            if isinstance(item, Table):
                body.append(_table(item))
            elif isinstance(item, ImageGrid):
                body.append(_grid(item))
            else:
                body.append(_figure(item))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body>\n"
        + "\n".join(body) + "\n</body></html>\n"
    )


def _table(table: Table) -> str:
    text_cols = {i for i, _ in enumerate(table.header)
                 if all(isinstance(r[i], str) for r in table.rows) and table.rows}
    head = "".join(f'<th class="{"t" if i in text_cols else ""}">{html.escape(h)}</th>'
                   for i, h in enumerate(table.header))
    rows = []
    for row in table.rows:
        cells = "".join(
            f'<td class="{"t" if i in text_cols else ""}">'
            f"{html.escape(fmt(v, signed=i in table.signed))}</td>"
            for i, v in enumerate(row)
        )
        rows.append(f"<tr>{cells}</tr>")
    note = f'<p class="note">{html.escape(table.note)}</p>' if table.note else ""
    return (f'<h3 id="{table.key}">{html.escape(table.title)}</h3><div class="scroll">'
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
            f"{note}")


def _figure(figure: Figure) -> str:
    data = base64.b64encode(figure.png).decode("ascii")
    caption = html.escape(figure.caption)
    return (f'<figure><img alt="{caption}" src="data:image/png;base64,{data}">'
            f"<figcaption>{caption}</figcaption></figure>")


def _grid(grid: ImageGrid) -> str:
    cells = []
    for caption, png in grid.cells:
        data = base64.b64encode(png).decode("ascii")
        text = html.escape(caption)
        cells.append(f'<figure><img alt="{text}" src="data:image/png;base64,{data}">'
                     f"<figcaption>{text}</figcaption></figure>")
    return f"<h3>{html.escape(grid.title)}</h3><div class=\"grid\">{''.join(cells)}</div>"
