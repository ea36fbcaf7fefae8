"""`make demo` serves the portal: rundemo with the Makefile's demo environment answers (R1)."""

from __future__ import annotations

import re
import shlex
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .test_processes import ROOT, _free_port, _stop


def demo_env(tmp_path: Path) -> dict[str, str]:
    line = re.search(r"^DEMO_ENV := (.*)$", (ROOT / "Makefile").read_text(encoding="utf-8"), re.M)
    assert line, "Makefile has no DEMO_ENV"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
    }
    for pair in shlex.split(line.group(1)):
        name, value = pair.split("=", 1)
        env[name] = value
    (tmp_path / "secret").write_text("demo-test-secret-" + "z" * 40)
    env["SECRET_KEY_FILE"] = str(tmp_path / "secret")
    return env


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8")


def test_rundemo_serves_login_static_and_russian_404(tmp_path):
    env = demo_env(tmp_path)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "rundemo", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, page = get(f"http://127.0.0.1:{port}/login/")
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError(proc.stdout.read() if proc.stdout else "rundemo died") from None
                time.sleep(0.3)
        assert status == 200 and "Вход в систему" in page
        status, css = get(f"http://127.0.0.1:{port}/static/css/portal.css")
        assert status == 200 and ".sidebar" in css
        status, page = get(f"http://127.0.0.1:{port}/no-such-page/")
        assert status == 404 and "Страница или объект не найдены" in page
    finally:
        _stop(proc)


def test_the_demo_fund_sends_its_packages_about_persons(tmp_path):
    """Issue 14: in the demo the built-in fund's POLIS, CHECKPERS … arrive by themselves and are
    applied (Обработан) or refused (Отклонен), each answered."""
    env = demo_env(tmp_path)
    env.update(
        STORAGE_ROOT=str(tmp_path / "storage"),
        TFOMS_DEMO_CHANGES_FIRST_SECONDS="0.5",
        TFOMS_DEMO_CHANGES_FIRST="40",
    )
    for command in (["migrate", "--no-input", "-v", "0"], ["seed_demo", "--persons", "150"]):
        subprocess.run(
            [sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True
        )
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "rundemo", f"127.0.0.1:{_free_port()}", "--noreload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    database = sqlite3.connect(tmp_path / "demo.sqlite3")
    try:
        deadline = time.monotonic() + 60
        counts: dict[str, int] = {}
        while time.monotonic() < deadline:
            rows = database.execute(
                "SELECT status, count(*) FROM servicelog_package WHERE direction = 'in' GROUP BY status"
            ).fetchall()
            counts = dict(rows)
            if counts.get("processed", 0) + counts.get("rejected", 0) >= 40:
                break
            time.sleep(0.5)
        assert counts.get("processed", 0) >= 30 and counts.get("rejected", 0) >= 1, counts
        answers = database.execute("SELECT count(*) FROM servicelog_package WHERE package_type = 'ANSWER'")
        assert answers.fetchone()[0] >= 40
    finally:
        database.close()
        _stop(proc)
