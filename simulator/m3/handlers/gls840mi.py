"""GLS840MI, the generic GL interface (FGLINH/FGLINL): a batch of raw lines, then control/update.

A batch is keyed by company, division and KEY1; its lines carry PARM, the record in the layout
the interface (INTN) defines. ionsim does not interpret PARM: CtrlBatch (option 6, validate)
checks that the batch exists, is not updated and has lines, and writes nothing; UpdBatch
(option 9) does the same checks, then marks the batch updated (STAT 90) so it takes no more
lines. Batch statuses are ionsim's: 10 entered, 90 updated.
"""

from __future__ import annotations

from simulator.m3.behaviours import divi, listing, must_be_new, nok
from simulator.m3.engine import CallContext
from simulator.m3.handlers import handler
from simulator.m3.numbers import whole
from simulator.m3.store import Record, TenantState
from simulator.m3.tables import table

ENTERED, UPDATED = "10", "90"


def get_batch(st: TenantState, co: str, dv: str, key1: str) -> Record:
    heads = table(st, "gl_batches")
    row = heads.get(heads.key(co, dv, key1))
    if row is None:
        raise nok("XRE0103", field="KEY1", message=f"Batch {key1} does not exist")
    return row


def _open(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    head = get_batch(st, _cono(f), divi(f, ctx), f["KEY1"])
    if head.get("STAT") == UPDATED:
        raise nok("WGL0110", field="KEY1", message=f"Batch {f['KEY1']} is already updated")
    return head


def _cono(f: dict[str, str]) -> str:
    """CONO is mandatory here; the number is stored as MI writes it ("100", not "0100")."""
    return whole(f, "CONO")


def _checked(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    head = _open(st, f, ctx)
    if head.get("NOLN", "0") == "0":
        raise nok("WGL0120", field="KEY1", message=f"Batch {f['KEY1']} has no lines")
    return head


@handler("GLS840MI", "AddBatchHead")
def add_batch_head(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    co, dv = _cono(f), divi(f, ctx)
    if next(listing(table(st, "companies"), (co,)), None) is None:
        raise nok("XRE0103", field="CONO", message=f"Company {co} does not exist")
    heads = table(st, "gl_batches")
    must_be_new(heads, (co, dv, f["KEY1"]), "KEY1")
    head: Record = dict(f)
    head.update(CONO=co, DIVI=dv, USID=f.get("USID") or ctx.user, STAT=ENTERED, NOLN="0")
    head.update(RGDT=ctx.today(), LMDT=ctx.today(), CHNO="1")
    heads.insert(head)
    ctx.emit("gl_batch", "add", (co, dv, f["KEY1"]), head)
    return {"CONO": co}


@handler("GLS840MI", "AddBatchLine")
def add_batch_line(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    co, dv = _cono(f), divi(f, ctx)
    head = _open(st, f, ctx)
    lines = table(st, "gl_batch_lines")
    line_no = whole(f, "LINE")
    must_be_new(lines, (co, dv, f["KEY1"], line_no), "LINE")
    lines.insert({"CONO": co, "DIVI": dv, "KEY1": f["KEY1"], "LINE": line_no, "PARM": f["PARM"]})
    count = sum(1 for _ in listing(lines, (co, dv, f["KEY1"])))
    head.update(NOLN=str(count), LMDT=ctx.today())
    ctx.emit("gl_batch", "change", (co, dv, f["KEY1"]), head)
    return {"CONO": co}


@handler("GLS840MI", "CtrlBatch")
def ctrl_batch(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    _checked(st, f, ctx)
    return {"CONO": _cono(f)}


@handler("GLS840MI", "UpdBatch")
def upd_batch(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    head = _checked(st, f, ctx)
    head.update(STAT=UPDATED, UPDT=ctx.today(), LMDT=ctx.today())
    head["CHNO"] = str(int(head.get("CHNO") or "0") + 1)
    ctx.emit("gl_batch", "change", (head["CONO"], head["DIVI"], head["KEY1"]), head)
    return {"CONO": head["CONO"]}
