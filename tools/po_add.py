"""Add message keys to both catalogs (zh_CN first, en second) without touching existing ones.

Usage: python tools/po_add.py entries.yaml   where the YAML maps key -> [zh, en].
Keeps every catalog entry already present; appends only new keys.
"""
from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent / "locales"
HEADER = '''msgid ""
msgstr ""
"Project-Id-Version: huying\\n"
"Language: {lang}\\n"
"MIME-Version: 1.0\\n"
"Content-Type: text/plain; charset=utf-8\\n"
"Content-Transfer-Encoding: 8bit\\n"
"Plural-Forms: nplurals={np}; plural={pl};\\n"
'''


def quote(s: str) -> str:
    body = s.replace("\\", "\\\\").replace('"', '\\"')
    if "\n" not in body:
        return f'"{body}"'
    lines = body.split("\n")
    parts = [line + "\\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    return '""\n' + "\n".join(f'"{p}"' for p in parts)


def existing_keys(po: Path) -> set[str]:
    keys = set()
    for line in po.read_text(encoding="utf-8").splitlines():
        if line.startswith('msgid "') and line != 'msgid ""':
            keys.add(line[7:-1])
    return keys


def main(path: str) -> None:
    entries = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    for idx, (lang, np, pl) in enumerate((("zh_CN", 1, "0"), ("en", 2, "(n != 1)"))):
        po = ROOT / lang / "LC_MESSAGES" / "messages.po"
        po.parent.mkdir(parents=True, exist_ok=True)
        if not po.exists():
            po.write_text(HEADER.format(lang=lang, np=np, pl=pl), encoding="utf-8")
        have = existing_keys(po)
        with po.open("a", encoding="utf-8") as fh:
            for key, pair in entries.items():
                if key in have:
                    continue
                fh.write(f"\nmsgid \"{key}\"\nmsgstr {quote(pair[idx])}\n")


if __name__ == "__main__":
    main(sys.argv[1])
