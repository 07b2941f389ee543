"""Reading sessions.cfg: QuickFIX's session file, checked against the YAML config.

QuickFIX itself parses the file later; reading it here first lets start-up fail
with one line naming the file, the line and what is wrong, and catch a session
that has no firm (or a firm session missing from the file) before any socket opens.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from config import Settings

SUPPORTED_VERSIONS = ("FIX.4.2", "FIX.4.4", "FIXT.1.1")
SUPPORTED_APPL_VERSIONS = ("FIX.5.0SP2",)
# Owned by the YAML config, so that each setting has one home.
SET_IN_YAML = {
    "SocketAcceptHost": "fix.host",
    "SocketAcceptPort": "fix.port",
    "SenderCompID": "fix.sender_comp_id",
}


class SessionsFileError(Exception):
    def __init__(self, file: str, where: str, message: str) -> None:
        super().__init__(f"{file}: {where}: {message}")
        self.file, self.where, self.message = file, where, message


@dataclass(frozen=True, slots=True)
class SessionDefinition:
    begin_string: str
    target_comp_id: str
    default_appl_ver_id: str | None
    line: int
    settings: Mapping[str, str]  # this section's keys over [DEFAULT]'s

    @property
    def version(self) -> str:
        """The application FIX version: FIX.4.2, FIX.4.4 or FIX.5.0SP2."""
        return self.default_appl_ver_id or self.begin_string


@dataclass(frozen=True, slots=True)
class SessionsFile:
    path: str
    defaults: Mapping[str, str]
    sessions: tuple[SessionDefinition, ...]


def load_sessions(path: str | os.PathLike[str], settings: Settings) -> SessionsFile:
    file = str(path)
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError as error:
        raise SessionsFileError(file, "<file>", f"cannot read it: {error.strerror}") from None

    defaults: dict[str, str] = {}
    sections: list[tuple[int, dict[str, str]]] = []
    current: dict[str, str] | None = None
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"line {number}"
        if line.startswith("["):
            name = line.strip("[]").strip().upper()
            if name == "DEFAULT":
                if sections or defaults:
                    raise SessionsFileError(file, where, "[DEFAULT] must come once, before every [SESSION]")
                current = defaults
            elif name == "SESSION":
                current = {}
                sections.append((number, current))
            else:
                raise SessionsFileError(file, where, f"unknown section {line}; allowed: [DEFAULT], [SESSION]")
            continue
        key, equals, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not equals or not key:
            raise SessionsFileError(file, where, f"expected Key=Value, got {raw.strip()!r}")
        if current is None:
            raise SessionsFileError(file, where, f"{key} comes before any [DEFAULT] or [SESSION] section")
        if key in SET_IN_YAML:
            raise SessionsFileError(
                file, where, f"{key} is set by {SET_IN_YAML[key]} in {settings.source}, not here")
        if key in current:
            raise SessionsFileError(file, where, f"{key} is set twice in this section")
        current[key] = value

    if defaults.get("ConnectionType", "acceptor") != "acceptor":
        raise SessionsFileError(file, "[DEFAULT]", "ConnectionType must be acceptor: the exchange only accepts")
    sessions = tuple(_session(file, number, defaults, own) for number, own in sections)
    _check_against_config(file, sessions, settings)
    return SessionsFile(file, MappingProxyType(dict(defaults)), sessions)


def _session(file: str, number: int, defaults: dict[str, str], own: dict[str, str]) -> SessionDefinition:
    where = f"[SESSION] at line {number}"
    merged = {**defaults, **own}
    begin_string = merged.get("BeginString")
    if begin_string not in SUPPORTED_VERSIONS:
        raise SessionsFileError(
            file, where, f"BeginString {begin_string!r} is not supported; allowed: {', '.join(SUPPORTED_VERSIONS)}")
    target = merged.get("TargetCompID", "")
    if not target:
        raise SessionsFileError(file, where, "TargetCompID is missing")
    appl_ver_id = merged.get("DefaultApplVerID")
    if begin_string == "FIXT.1.1":
        if appl_ver_id not in SUPPORTED_APPL_VERSIONS:
            raise SessionsFileError(
                file, where, f"a FIXT.1.1 session needs DefaultApplVerID; allowed: {', '.join(SUPPORTED_APPL_VERSIONS)}")
        for key in ("TransportDataDictionary", "AppDataDictionary"):
            if merged.get("UseDataDictionary", "Y") == "Y" and key not in merged:
                raise SessionsFileError(file, where, f"a FIXT.1.1 session needs {key}")
    elif appl_ver_id is not None:
        raise SessionsFileError(file, where, "DefaultApplVerID only goes with BeginString=FIXT.1.1")
    elif merged.get("UseDataDictionary", "Y") == "Y" and "DataDictionary" not in merged:
        raise SessionsFileError(file, where, "DataDictionary is missing (or set UseDataDictionary=N)")
    return SessionDefinition(begin_string, target, appl_ver_id, number, MappingProxyType(merged))


def _check_against_config(file: str, sessions: tuple[SessionDefinition, ...], settings: Settings) -> None:
    configured = {s.comp_id for s in settings.sessions}
    seen: dict[str, int] = {}
    for session in sessions:
        where = f"[SESSION] at line {session.line}"
        if session.target_comp_id in seen:
            raise SessionsFileError(
                file, where, f"TargetCompID {session.target_comp_id} is already defined at line "
                f"{seen[session.target_comp_id]}")
        seen[session.target_comp_id] = session.line
        if session.target_comp_id not in configured:
            raise SessionsFileError(
                file, where, f"TargetCompID {session.target_comp_id} belongs to no firm in {settings.source}; "
                f"add it under firms.<FIRM>.sessions there")
    missing = sorted(configured - seen.keys())
    if missing:
        raise SessionsFileError(
            file, "<file>", f"sessions {', '.join(missing)} are configured in {settings.source} but have no "
            f"[SESSION] here")
