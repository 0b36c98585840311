"""A small self-contained HTML page: one style sheet, no scripts from elsewhere.

The report shows an HTML result in a frame; a page that needs nothing from the network reads
the same from a laptop offline as from the cluster it was made on.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

from brainsweep.io import atomic_path

__all__ = ["escape", "write_page"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.2em; color: #222; }
h1 { font-size: 1.3em; margin: 0 0 0.3em 0; }
p.note { color: #555; max-width: 60em; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
th { background: #f0f0f0; position: sticky; top: 0; }
th .unit { display: block; font-weight: normal; color: #666; font-size: 0.85em; }
td.text { text-align: left; }
tr.diverged td { color: #999; background: #f6f6f6; }
tr.best td { background: #fff3c4; }
pre { background: #f7f7f7; padding: 0.8em; border: 1px solid #ddd; overflow: auto; }
"""


def escape(value: object) -> str:
    return html.escape(str(value), quote=True)


def write_page(path: str | os.PathLike, title: str, body: str) -> Path:
    """Write ``body`` (HTML) under a heading ``title`` as one page, atomically."""
    text = (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{escape(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
        f"<h1>{escape(title)}</h1>\n{body}\n</body>\n</html>\n"
    )
    target = Path(path)
    with atomic_path(target) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return target
