"""The CJK font the charts use: Noto Sans CJK SC, shipped by the `mplfonts` package from PyPI.

Never a system font: a server without CJK fonts would draw empty boxes (tofu) and nobody would
notice until a leader opened the chart. The package is found without importing it (its
`__init__` pulls in a CLI we do not need).
"""
from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

FONT_PACKAGE = "mplfonts"
FONT_FILE = "NotoSansCJKsc-Regular.otf"


class FontMissing(RuntimeError):
    pass


@lru_cache(maxsize=1)
def cjk_font_path() -> Path:
    spec = importlib.util.find_spec(FONT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FontMissing(f"the {FONT_PACKAGE} package is not installed (pip install {FONT_PACKAGE})")
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / FONT_FILE
    if not path.is_file():
        raise FontMissing(f"{path} is missing from the {FONT_PACKAGE} package")
    return path
