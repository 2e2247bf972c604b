"""python -m visionseg.monitor RESULTS [--html PAGE]: summarise a results log.

RESULTS is a ``results.jsonl`` (watched folder, service) or the output folder holding it.
Prints the summary; writes an HTML page with the trends (default RESULTS_DIR/monitor.html).
Exit code 2 with one line on bad input.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from visionseg.core.errors import exit_code
from visionseg.io.atomic import write_text
from visionseg.monitor.page import build_page
from visionseg.monitor.summary import summarise, summary_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m visionseg.monitor", description=__doc__)
    parser.add_argument("results", help="results.jsonl or the output folder holding it")
    parser.add_argument("--html", default=None,
                        help="page to write (default: monitor.html beside the log)")
    parser.add_argument("--no-html", action="store_true", help="print the summary only")
    args = parser.parse_args(argv)
    return exit_code(lambda: _summarise(args.results, args.html, args.no_html), OSError)


def _summarise(results: str, html: str | None, no_html: bool) -> int:
    """Print the summary of ``results`` and write its page unless ``no_html``."""
    summary = summarise(results)
    print(summary_text(summary), end="")
    if not no_html:
        page = Path(html) if html else summary.path.parent / "monitor.html"
        write_text(page, build_page(summary))
        print(f"Page:        {page}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
