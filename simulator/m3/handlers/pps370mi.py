"""PPS370MI, purchase order batch entry: StartEntry -> AddHead -> AddLine -> FinishEntry.

An entry (MSGN) collects heads and lines in work tables no other transaction reads, as M3 keeps
PPS370 batch data apart from MPHEAD/MPLINE: a PO half entered or abandoned (DeleteEntry) never
shows in PPS200MI. FinishEntry moves the heads and lines into purchase_orders/po_lines, where
the order is definite: every line and the head get status 20 (PUSL/PUST), an ionsim choice for
"released to the supplier". One entry may hold several heads; AddLine adds to the head named by
PUNO or HREF, else to the head added last.

Line arithmetic lives here (also used by PPS200MI/AddLine) so a PO's totals have one definition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal

from simulator.m3.behaviours import cono, listing, must_get, nok
from simulator.m3.engine import CallContext
from simulator.m3.handlers import handler
from simulator.m3.numbers import fmt, whole
from simulator.m3.numbers import num as dec
from simulator.m3.store import Record, Table, TenantState
from simulator.m3.tables import table

OPEN, FINISHED = "10", "90"
LINE_STATUS = "20"
CENT = Decimal("0.01")
# Fields the supplier (CIDMAS/CIDVEN) lends a new PO head when the input leaves them blank.
_FROM_SUPPLIER = ("CUCD", "LNCD", "TEPY", "PYME", "MODL", "TEDL", "TEAF", "TEPA", "ORTY", "BUYE")


def entry_heads(st: TenantState) -> Table:
    """PPS370 work table of heads, until FinishEntry makes them purchase orders."""
    return table(st, "po_entry_heads")


def entry_lines(st: TenantState) -> Table:
    return table(st, "po_entry_lines")


def open_entry(st: TenantState, co: str, msgn: str) -> Record:
    row = table(st, "po_entries").get(table(st, "po_entries").key(co, msgn))
    if row is None:
        raise nok("XRE0103", field="MSGN", message=f"Message number {msgn} does not exist")
    if row.get("STAT") != OPEN:
        raise nok("WMS0107", field="MSGN", message=f"Entry {msgn} is already finished")
    return row


@handler("PPS370MI", "StartEntry")
def start_entry(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    co = cono(f, ctx)
    entries = table(st, "po_entries")
    msgn = str(st.next_number(f"MSGN/{co}", 1))
    row = {"CONO": co, "MSGN": msgn, "BAOR": f["BAOR"], "STAT": OPEN, "USID": ctx.user}
    row.update(PUNO="", NOHD="0", RGDT=ctx.today(), LMDT=ctx.today())
    entries.insert(row)
    return {"MSGN": msgn}


@handler("PPS370MI", "AddHead")
def add_head(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    co = cono(f, ctx)
    entry = open_entry(st, co, f["MSGN"])
    warehouses = table(st, "warehouses")
    if not any(w.get("FACI") == f["FACI"] for w in listing(warehouses, (co,))):
        raise nok("WFAC303", f["FACI"], "FACI")
    wh = must_get(warehouses, (co, f["WHLO"]), "WWH0103", f["WHLO"], "WHLO")
    if wh.get("FACI", f["FACI"]) != f["FACI"]:
        text = f"Warehouse {f['WHLO']} does not belong to facility {f['FACI']}"
        raise nok("WWH0110", field="WHLO", message=text)
    sup = must_get(table(st, "suppliers"), (co, f["SUNO"]), "WSU0103", f["SUNO"], "SUNO")
    puno = f.get("PUNO") or _next_po_number(st, co)
    if _po_taken(st, co, puno):
        raise nok("XRE0104", field="PUNO")
    divi = wh.get("DIVI") or ctx.divi
    company = _company(st, co, divi)
    head: Record = {k: v for k, v in f.items() if k != "MSGN"}
    for name in _FROM_SUPPLIER:
        head.setdefault(name, sup.get(name, ""))
    head.setdefault("CUCD", company.get("LOCD", ""))
    head.update(CONO=co, DIVI=divi, PUNO=puno, MSGN=f["MSGN"], CSCD=sup.get("CSCD", ""))
    head.update(PUDT=f.get("PUDT") or ctx.today(), DATE=ctx.today(), RESP=ctx.user)
    head.update(CONM=company.get("CONM", ""), LOCD=company.get("LOCD", ""), REVN="0")
    head.update(PHNO=sup.get("PHNO", ""), PRSU=f.get("PRSU") or sup.get("PRSU") or f["SUNO"])
    head.update(po_totals(()), RGDT=ctx.today(), LMDT=ctx.today(), CHNO="1")
    entry_heads(st).insert(head)
    entry.update(PUNO=puno, NOHD=str(int(entry.get("NOHD") or "0") + 1), LMDT=ctx.today())
    return {"PUNO": puno}


@handler("PPS370MI", "AddLine")
def add_line(st: TenantState, f: dict[str, str], ctx: CallContext) -> Record:
    co = cono(f, ctx)
    entry = open_entry(st, co, f["MSGN"])
    heads = entry_heads(st)
    in_entry = list(listing(heads, (co, f["MSGN"])))
    if f.get("PUNO"):
        head = next((h for h in in_entry if h["PUNO"] == f["PUNO"]), None)
        if head is None:
            raise nok(
                "WPU0103", f["PUNO"], "PUNO", f"Purchase order number {f['PUNO']} does not exist"
            )
    elif f.get("HREF"):
        head = next((h for h in in_entry if h.get("HREF") == f["HREF"]), None)
        if head is None:
            raise nok("WPU0103", field="HREF", message=f"No order head with reference {f['HREF']}")
    else:
        head = next((h for h in in_entry if h["PUNO"] == entry.get("PUNO")), None)
        if head is None:
            raise nok("WPU0102", field="PUNO", message="Purchase order head must be entered first")
    lines = entry_lines(st)
    prefix = (co, f["MSGN"], head["PUNO"])
    line = new_line(st, head, f, ctx, lines, prefix)
    line["MSGN"] = f["MSGN"]
    lines.insert(line)
    head.update(po_totals(listing(lines, prefix)), LMDT=ctx.today())
    return {"PUNO": head["PUNO"], "PNLI": line["PNLI"]}


@handler("PPS370MI", "FinishEntry")
def finish_entry(st: TenantState, f: dict[str, str], ctx: CallContext) -> None:
    co = cono(f, ctx)
    entry = open_entry(st, co, f["MSGN"])
    heads, lines = entry_heads(st), entry_lines(st)
    pending = list(listing(heads, (co, f["MSGN"])))
    if not pending:
        raise nok("WPU0102", field="MSGN", message=f"Entry {f['MSGN']} has no purchase order")
    for head in pending:
        if next(listing(lines, (co, f["MSGN"], head["PUNO"])), None) is None:
            raise nok(
                "WPN0102", field="PUNO", message=f"Purchase order {head['PUNO']} has no lines"
            )
        if _po_taken(st, co, head["PUNO"], pending=False):
            raise nok("XRE0104", field="PUNO")
    orders, po_lines = table(st, "purchase_orders"), table(st, "po_lines")
    for head in pending:
        prefix = (co, f["MSGN"], head["PUNO"])
        for line in list(listing(lines, prefix)):
            lines.delete(lines.key_of(line))
            line.update(PUSL=LINE_STATUS, PUST=LINE_STATUS, LMDT=ctx.today())
            po_lines.insert(line)
        heads.delete(heads.key_of(head))
        head.update(po_totals(listing(po_lines, (co, head["PUNO"]))), LMDT=ctx.today())
        orders.insert(head)
        ctx.emit("purchase_order", "add", (co, head["PUNO"]), head)
    entry.update(STAT=FINISHED, LMDT=ctx.today())


@handler("PPS370MI", "DeleteEntry")
def delete_entry(st: TenantState, f: dict[str, str], ctx: CallContext) -> None:
    """Drops the entry and everything entered under it; the PO numbers are not reused."""
    co = cono(f, ctx)
    open_entry(st, co, f["MSGN"])
    for work in (entry_lines(st), entry_heads(st)):
        for row in list(listing(work, (co, f["MSGN"]))):
            work.delete(work.key_of(row))
    entries = table(st, "po_entries")
    entries.delete(entries.key(co, f["MSGN"]))


def new_line(
    st: TenantState,
    head: Record,
    f: Mapping[str, str],
    ctx: CallContext,
    lines: Table,
    prefix: tuple[str, ...],
) -> Record:
    """A PO line from the input and its head, validated but not stored (a NOK writes nothing)."""
    co = head["CONO"]
    item = must_get(table(st, "items"), (co, f["ITNO"]), "WIT0103", f["ITNO"], "ITNO")
    whlo = f.get("WHLO") or head["WHLO"]
    wh = must_get(table(st, "warehouses"), (co, whlo), "WWH0103", whlo, "WHLO")
    orqa = dec(f["ORQA"])
    if orqa <= 0:
        raise nok("WQA0102", field="ORQA", message="Ordered quantity must be greater than zero")
    pucd = dec(f.get("PUCD") or "1")
    if pucd <= 0:
        raise nok("WPU0125", field="PUCD", message="Price quantity must be greater than zero")
    existing = [int(r["PNLI"]) for r in listing(lines, prefix)]
    pnli = whole(f, "PNLI") if f.get("PNLI") else str(max(existing, default=0) + 1)
    pnls = whole(f, "PNLS")
    if lines.key(*prefix, pnli, pnls) in lines:
        raise nok("XRE0104", field="PNLI")
    pupr = dec(f.get("PUPR") or item.get("PUPR"))
    if pupr < 0:
        raise nok("WPU0126", field="PUPR", message="Purchase price must not be negative")
    gross = orqa * pupr / pucd
    net = gross
    for disc in ("ODI1", "ODI2", "ODI3"):
        net = net * (100 - dec(f.get(disc))) / 100
    lnam = fmt(net.quantize(CENT, ROUND_HALF_UP))
    row: Record = dict(f)
    row.pop("MSGN", None)
    row.update(CONO=co, PUNO=head["PUNO"], PNLI=pnli, PNLS=pnls, ITNO=f["ITNO"])
    row.update(ITDS=item.get("ITDS", ""), PITD=f.get("PITD") or item.get("ITDS", ""))
    row.update(UNMS=item.get("UNMS", ""), PUUN=f.get("PUUN") or item.get("PUUN", ""))
    row.update(PPUN=f.get("PPUN") or item.get("PPUN", ""), SUNO=head["SUNO"], WHLO=whlo)
    row.update(FACI=f.get("FACI") or wh.get("FACI", ""), DWDT=f.get("DWDT") or head["DWDT"])
    row.update(ORQA=fmt(orqa), ORQT=fmt(orqa), PUPR=fmt(pupr), CUPR=fmt(pupr), PUCD=fmt(pucd))
    row.update(LNAM=lnam, LNA2=lnam, SAAM=lnam, GRAM=fmt(gross.quantize(CENT, ROUND_HALF_UP)))
    row.update({d: fmt(dec(f.get(d))) for d in ("ODI1", "ODI2", "ODI3")})
    row.update(LOCD=head.get("LOCD", ""), BUYE=f.get("BUYE") or head.get("BUYE", ""))
    for qty in ("CFQA", "ADQA", "TNQA", "RVQA", "CAQA", "RJQA", "SDQA", "IVQA", "RVQT", "CFQT"):
        row[qty] = "0"
    row.update(PUSL=LINE_STATUS, PUST=LINE_STATUS, RGDT=ctx.today(), LMDT=ctx.today(), CHNO="1")
    return row


def po_totals(lines: Iterable[Record]) -> Record:
    """Head figures from its lines: net/gross value, quantity, line count, lowest/highest status."""
    net = gross = qty = Decimal(0)
    count = 0
    statuses: list[str] = []
    for line in lines:
        net += dec(line.get("LNAM"))
        gross += dec(line.get("GRAM"))
        qty += dec(line.get("ORQA"))
        count += 1
        statuses += [line.get("PUSL", ""), line.get("PUST", "")]
    totals = {"NTAM": fmt(net), "COAM": fmt(net), "SAAM": fmt(net), "BRAM": fmt(gross)}
    totals.update(ODAM="0", TOQT=fmt(qty), NOLN=str(count))
    totals.update(PUSL=min(statuses, default=""), PUST=max(statuses, default=""))
    return totals


def _next_po_number(st: TenantState, co: str) -> str:
    while True:
        puno = str(st.next_number(f"PUNO/{co}", 1000001))
        if not _po_taken(st, co, puno):
            return puno


def _po_taken(st: TenantState, co: str, puno: str, pending: bool = True) -> bool:
    if table(st, "purchase_orders").key(co, puno) in table(st, "purchase_orders"):
        return True
    return pending and any(h["PUNO"] == puno for h in listing(entry_heads(st), (co,)))


def _company(st: TenantState, co: str, divi: str) -> Record:
    companies = table(st, "companies")
    return companies.get(companies.key(co, divi)) or companies.get(companies.key(co, "")) or {}
