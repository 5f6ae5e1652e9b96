"""The M3 tables ionsim keeps, and their keys: one place, shared by handlers and seeds.

Names are ionsim's (the real M3 file in brackets). Numeric key parts carry a width so they
sort as numbers.
"""

from __future__ import annotations

from simulator.m3.store import Table, TenantState

TABLES: dict[str, tuple[str, ...]] = {
    "companies": ("CONO", "DIVI"),  # CMNDIV
    "users": ("USID",),  # CMNUSR
    "customers": ("CONO", "CUNO"),  # OCUSMA
    "suppliers": ("CONO", "SUNO"),  # CIDMAS/CIDVEN
    "items": ("CONO", "ITNO"),  # MITMAS
    "warehouses": ("CONO", "WHLO"),  # MITWHL
    "item_warehouses": ("CONO", "WHLO", "ITNO"),  # MITBAL
    "balances": ("CONO", "WHLO", "ITNO", "WHSL", "BANO"),  # MITLOC
    "order_batches": ("CONO", "ORNO"),  # OXHEAD (batch orders before Confirm)
    "order_batch_lines": ("CONO", "ORNO", "PONR:5", "POSX:3"),  # OXLINE
    "orders": ("CONO", "ORNO"),  # OOHEAD
    "order_lines": ("CONO", "ORNO", "PONR:5", "POSX:3"),  # OOLINE
    "invoices": ("CONO", "DIVI", "YEA4", "IVNO:10"),  # ODHEAD/OINVOH
    "invoice_lines": ("CONO", "DIVI", "YEA4", "IVNO:10", "ORNO", "PONR:5", "POSX:3"),
    "po_entries": ("CONO", "MSGN"),  # PPS370 batch entries
    "po_entry_heads": ("CONO", "MSGN:15", "PUNO"),  # heads of an open entry
    "po_entry_lines": ("CONO", "MSGN:15", "PUNO", "PNLI:5", "PNLS:3"),  # lines of an open entry
    "purchase_orders": ("CONO", "PUNO"),  # MPHEAD
    "po_lines": ("CONO", "PUNO", "PNLI:5", "PNLS:3"),  # MPLINE
    "supplier_invoices": ("CONO", "DIVI", "INBN:10"),  # FAPIBH
    "supplier_invoice_lines": ("CONO", "DIVI", "INBN:10", "TRNO:7"),  # FAPIBL
    "gl_batches": ("CONO", "DIVI", "KEY1"),  # FGLINH
    "gl_batch_lines": ("CONO", "DIVI", "KEY1", "LINE:7"),  # FGLINL
}


def table(state: TenantState, name: str) -> Table:
    """The tenant's table `name` with its declared key."""
    return state.table(name, TABLES[name])
