"""`overlay schedule` against stand-in `systemctl` and `crontab` programs on PATH (they log what they are asked)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from overlay.cli import main
from overlay.jobs.schedule import ScheduleError, plan
from overlay.settings import load_settings

FAKE_CRONTAB = """#!/bin/sh
# a crontab kept in a file: -l prints it, - replaces it from stdin
if [ "$1" = "-l" ]; then [ -f "$CRONTAB_FILE" ] && cat "$CRONTAB_FILE" || exit 1; else cat > "$CRONTAB_FILE"; fi
"""
FAKE_SYSTEMCTL = """#!/bin/sh
echo "$@" >> "$SYSTEMCTL_LOG"
"""


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    for name, script in {"crontab": FAKE_CRONTAB, "systemctl": FAKE_SYSTEMCTL}.items():
        (folder / name).write_text(script)
        (folder / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("CRONTAB_FILE", str(tmp_path / "crontab.txt"))
    monkeypatch.setenv("SYSTEMCTL_LOG", str(tmp_path / "systemctl.log"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return folder


def cli(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_print_shows_exactly_what_install_writes(vault: Path, bin_dir: Path, tmp_path: Path) -> None:
    printed = cli("schedule", "print", "--at", "04:15", "--vault", str(vault))
    assert "OnCalendar=*-*-* 04:15:00" in printed and "reindex --vault" in printed
    cli("schedule", "install", "--at", "04:15", "--vault", str(vault))
    units = sorted((tmp_path / "config" / "systemd" / "user").iterdir())
    assert [u.suffix for u in units] == [".service", ".timer"]
    for unit in units:
        assert f"# {unit}\n{unit.read_text()}" in printed
    log = (tmp_path / "systemctl.log").read_text()
    assert "--user daemon-reload" in log and f"--user enable --now {units[1].name}" in log


def test_install_twice_is_install_once_and_remove_undoes_it(vault: Path, bin_dir: Path, tmp_path: Path) -> None:
    crontab = tmp_path / "crontab.txt"
    crontab.write_text("0 1 * * * backup.sh\n")
    for _ in range(2):
        cli("schedule", "install", "--cron", "--at", "03:30", "--vault", str(vault))
    lines = crontab.read_text().splitlines()
    assert lines[0] == "0 1 * * * backup.sh" and len(lines) == 2
    assert lines[1].startswith("30 3 * * * ") and "reindex --vault" in lines[1]
    cli("schedule", "remove", "--cron", "--vault", str(vault))
    assert crontab.read_text().splitlines() == ["0 1 * * * backup.sh"]


def test_two_vaults_get_two_schedules(tmp_path: Path, bin_dir: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    for vault in (a, b):
        cli("schedule", "install", "--cron", "--vault", str(vault))
    assert len((tmp_path / "crontab.txt").read_text().splitlines()) == 2


def test_a_bad_time_is_a_clear_error(vault: Path) -> None:
    with pytest.raises(ScheduleError, match="not a time of day"):
        plan(load_settings(vault), "25:00", use_systemd=False)


def test_the_cron_line_hides_nothing(vault: Path) -> None:
    line = plan(load_settings(vault), "03:30", use_systemd=False).cron_line
    assert "/dev/null" not in line and "reindex --vault" in line and "--quiet" in line


def test_install_says_what_it_chose_beside_a_watcher(vault: Path, bin_dir: Path, tmp_path: Path) -> None:
    import json

    settings = load_settings(vault)
    settings.state_dir.mkdir(parents=True)
    settings.watcher_status_path.write_text(json.dumps({"running": True, "pid": os.getpid()}))
    said = cli("schedule", "install", "--cron", "--vault", str(vault))
    assert "`overlay watch` is running for this vault" in said and "hands its job to the watcher" in said
    settings.watcher_status_path.unlink()
    units = tmp_path / "config" / "systemd" / "user"
    units.mkdir(parents=True, exist_ok=True)
    (units / "overlay-watch.service").write_text(
        f"[Service]\nExecStart=/opt/overlay/.venv/bin/overlay watch --vault {vault}\n")
    said = cli("schedule", "install", "--cron", "--vault", str(vault))
    assert "a watcher service is installed (overlay-watch.service)" in said
