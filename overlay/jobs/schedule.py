"""`overlay schedule`: run `overlay reindex` for one vault every night — a systemd user timer where systemd runs the
user session, else a crontab line. `print` shows exactly what `install` writes; `install` is idempotent; `remove`
undoes it. Units are named after the vault, so several vaults each get their own."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from overlay.errors import OverlayError
from overlay.jobs.watch_health import read_health
from overlay.settings import Settings

TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class ScheduleError(OverlayError):
    hint = "give --at HH:MM (24-hour clock); `overlay schedule print` shows what would be installed"


@dataclass(frozen=True)
class Plan:
    kind: str  # "systemd" | "cron"
    files: dict[Path, str]  # systemd unit files and their text
    cron_line: str
    commands: list[list[str]]  # what install runs after writing

    def describe(self) -> str:
        if self.kind == "cron":
            return f"# crontab line (installed with `crontab -`):\n{self.cron_line}\n"
        parts = [f"# {path}\n{text}" for path, text in self.files.items()]
        parts.append("# then: " + "; ".join(shlex.join(c) for c in self.commands))
        return "\n".join(parts) + "\n"


def hour_minute(at: str) -> tuple[int, int]:
    match = TIME.match(at.strip())
    if not match:
        raise ScheduleError(f"not a time of day: {at!r}")
    return int(match.group(1)), int(match.group(2))


def unit_name(settings: Settings) -> str:
    digest = hashlib.sha1(str(settings.vault).encode()).hexdigest()[:8]
    slug = re.sub(r"[^A-Za-z0-9]+", "-", settings.vault.name).strip("-")[:24] or "vault"
    return f"overlay-reindex-{slug}-{digest}"


def command(settings: Settings) -> list[str]:
    exe = shutil.which("overlay") or str(Path(sys.executable).with_name("overlay"))
    return [exe, "reindex", "--vault", str(settings.vault)]


def systemd_available() -> bool:
    if shutil.which("systemctl") is None:
        return False
    probe = subprocess.run(["systemctl", "--user", "show-environment"], capture_output=True, check=False)
    return probe.returncode == 0


def plan(settings: Settings, at: str, *, use_systemd: bool | None = None) -> Plan:
    hour, minute = hour_minute(at)
    name = unit_name(settings)
    run = shlex.join(command(settings))
    env = f"OVERLAY_STATE_DIR={shlex.quote(str(settings.state_dir))}"
    # --quiet: cron mails whatever a job prints; a good night prints nothing, a failure prints its error (and
    # `overlay status` and the audit note have it too). Nothing goes to /dev/null.
    cron = f"{minute} {hour} * * * {env} {run} --quiet  # {name}"
    if use_systemd is None:
        use_systemd = systemd_available()
    if not use_systemd:
        return Plan("cron", {}, cron, [])
    folder = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "systemd" / "user"
    service = (f"[Unit]\nDescription=overlay nightly reindex of {settings.vault}\n\n"
               f"[Service]\nType=oneshot\nEnvironment={env}\nEnvironment=HF_HUB_OFFLINE=1\n"
               f"Environment=ANONYMIZED_TELEMETRY=False\nExecStart={run}\n")
    timer = (f"[Unit]\nDescription=overlay nightly reindex of {settings.vault}\n\n"
             f"[Timer]\nOnCalendar=*-*-* {hour:02d}:{minute:02d}:00\nPersistent=true\n\n"
             f"[Install]\nWantedBy=timers.target\n")
    commands = [["systemctl", "--user", "daemon-reload"], ["systemctl", "--user", "enable", "--now", f"{name}.timer"]]
    return Plan("systemd", {folder / f"{name}.service": service, folder / f"{name}.timer": timer}, cron, commands)


def install(p: Plan, settings: Settings) -> str:
    if p.kind == "cron":
        _set_cron(unit_name(settings), p.cron_line)
        done = "crontab line installed (a failed night mails its error through cron)"
    else:
        for path, text in p.files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        for cmd in p.commands:
            _run(cmd)
        journal = f"journalctl --user -u {unit_name(settings)}"
        done = f"installed {', '.join(str(p) for p in p.files)} (its output goes to `{journal}`)"
    note = watcher_note(settings)
    return f"{done}\n{note}" if note else done


def watcher_note(settings: Settings) -> str | None:
    """What the nightly run will do beside a watcher of the same vault (running now, or installed as a service)."""
    health = read_health(settings)
    if health.get("running"):
        return (f"`overlay watch` is running for this vault (pid {health['pid']}): each night `overlay reindex` hands "
                "its job to the watcher and prints the result, so the two never fight over the index.")
    units = watch_units(settings)
    if units:
        return (f"a watcher service is installed ({', '.join(u.name for u in units)}): while it runs, the nightly "
                "`overlay reindex` hands its job to it. Alternatively drop this timer and run "
                "`overlay watch --nightly HH:MM`.")
    return None


def watch_units(settings: Settings) -> list[Path]:
    """systemd user services that run `overlay watch` on this vault."""
    folder = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "systemd" / "user"
    found = []
    for unit in sorted(folder.glob("*.service")) if folder.is_dir() else []:
        try:
            text = unit.read_text(encoding="utf-8")
        except OSError:
            continue
        exec_lines = [line for line in text.splitlines() if line.startswith("ExecStart=")]
        if any("overlay" in line and " watch" in line and _names_vault(line, settings) for line in exec_lines):
            found.append(unit)
    return found


def _names_vault(line: str, settings: Settings) -> bool:
    home = str(Path.home())
    vault = str(settings.vault)
    return vault in line or vault.replace(home, "%h", 1) in line or vault.replace(home, "~", 1) in line


def remove(settings: Settings, *, use_systemd: bool | None = None) -> str:
    p = plan(settings, "03:30", use_systemd=use_systemd)
    if p.kind == "cron":
        _set_cron(unit_name(settings), None)
        return "crontab line removed"
    name = unit_name(settings)
    subprocess.run(["systemctl", "--user", "disable", "--now", f"{name}.timer"], capture_output=True, check=False)
    for path in p.files:
        path.unlink(missing_ok=True)
    _run(["systemctl", "--user", "daemon-reload"])
    return f"removed {name}.timer and .service"


def _set_cron(marker: str, line: str | None) -> None:
    """Our line (found by its trailing marker) replaced or removed; every other line kept as it was."""
    if shutil.which("crontab") is None:
        raise ScheduleError("neither a systemd user session nor crontab is available here")
    current = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
    lines = [x for x in (current.stdout.splitlines() if current.returncode == 0 else []) if not x.endswith(marker)]
    if line:
        lines.append(line)
    subprocess.run(["crontab", "-"], input="\n".join(lines) + "\n", text=True, check=True, capture_output=True)


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ScheduleError(f"{shlex.join(cmd)} failed: {done.stderr.strip() or done.returncode}")
