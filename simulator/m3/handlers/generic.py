"""The generic transactions every MI program answers (GetServerTime, GetUserInfo, ...).

They are registered for each program of the catalog when the engine is built, since the set of
programs is data (contracts/mi) and a user may import more.
"""

from __future__ import annotations

from datetime import UTC, datetime

from simulator.m3.behaviours import MESSAGES, nok
from simulator.m3.engine import CallContext, Handler
from simulator.m3.store import Record, TenantState

VERSION = "ionsim-0.1"


def server_time(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    now = datetime.fromtimestamp(ctx.now, UTC)
    return {"DATE": now.strftime("%Y%m%d"), "TIME": now.strftime("%H%M%S")}


def user_info(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    user = st.settings.get("user", {})
    return {
        "ZZUSID": ctx.user,
        "CONO": ctx.cono,
        "DIVI": ctx.divi,
        "LANC": user.get("LANC", "GB"),
        "DTFM": user.get("DTFM", "YMD"),
        "DCFM": user.get("DCFM", "."),
        "TIZO": user.get("TIZO", "UTC"),
        "FACI": user.get("FACI", ""),
        "WHLO": user.get("WHLO", ""),
        "DEPT": user.get("DEPT", ""),
        "TX40": user.get("NAME", ""),
    }


def current_user(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    return {"USID": ctx.user}


def time_zone(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    return {"TIZO": st.settings.get("user", {}).get("TIZO", "UTC")}


def message_text(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    text = MESSAGES.get(f["MSID"])
    if text is None:
        raise nok("XRE0103", field="MSID", message=f"Message {f['MSID']} does not exist")
    return {"MSGT": text.replace("&1", f.get("MSGDTA", "").strip())}


def field_heading(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    return {"FLDI": f["FLDI"], "FLDH": f["FLDI"], "COLH": f["FLDI"], "SHTX": f["FLDI"]}


def version(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    return {"VERS": VERSION, "FIXL": VERSION, "BUID": VERSION}


GENERIC: dict[str, Handler] = {
    "GetServerTime": server_time,
    "GetUserInfo": user_info,
    "GetCurrentUser": current_user,
    "ServerTimeZone": time_zone,
    "GetMessageText": message_text,
    "GetFieldHeading": field_heading,
    "FpwVersion": version,
    "GetFixLevel": version,
    "GetMIBuild": version,
}


def for_programs(programs: list[str]) -> dict[tuple[str, str], Handler]:
    return {(p, t): fn for p in programs for t, fn in GENERIC.items()}
