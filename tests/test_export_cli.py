"""`python -m bot export … --out FILE`: the real process against the story's database."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from openpyxl import load_workbook

from tests.harness import DATA, World
from tests.steps import dispatched

ROOT = Path(__file__).resolve().parent.parent


def run_export(world: World, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": world.app.settings.database_url, "HUYING_ORG_FILE": str(DATA / "org.yaml"),
           "BOT_TOKEN": "", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bot", "export", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


async def test_export_from_the_command_line(world: World, tmp_path):
    await dispatched(world, "小区门口垃圾没人清运")
    out = tmp_path / "ledger.xlsx"
    done = run_export(world, "ledger", "2026-11", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "诉求问题台账（2026年11月），共 1 条"
    rows = [list(r) for r in load_workbook(io.BytesIO(out.read_bytes())).active.iter_rows(values_only=True)]
    assert rows[2] == ["序号", "企业名称", "存在问题、困难、诉求描述", "建议解决部门", "企业联系人及联系方式", "备注"]
    assert rows[3][0] == 1 and rows[3][2].startswith("#2026-000001 ") and rows[3][3] == "城市管理局"
    assert rows[3][4]  # the operator is staff: contact details are in

    bad = run_export(world, "minutes", "--out", str(tmp_path / "x.xlsx"))
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "minutes" in bad.stderr
    assert "Traceback" not in bad.stderr and not (tmp_path / "x.xlsx").exists()
    future = run_export(world, "feedback", "2027-05", "--out", str(tmp_path / "y.xlsx"))
    assert future.returncode == 2 and "2027-05" in future.stderr


def test_export_from_a_database_that_cannot_be_opened_is_one_line(tmp_path):
    env = {**os.environ, "DATABASE_URL": "postgresql+asyncpg://nobody:secret@127.0.0.1:1/gone",
           "HUYING_ORG_FILE": str(DATA / "org.yaml"), "BOT_TOKEN": "", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "bot", "export", "ledger", "2026-11", "--out", str(tmp_path / "l.xlsx")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and "cannot open the database" in done.stderr and "secret" not in done.stderr
