"""The MI program definitions: packaged facts, error reporting, metadata, OpenAPI and coverage."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from simulator import resources
from simulator.errors import ContractError
from simulator.m3 import program_schema
from simulator.m3.catalog_loader import load_catalog, load_program_file
from simulator.m3.coverage import coverage_table
from simulator.m3.definitions import Catalog
from simulator.m3.metadata import metadata_program, metadata_programs
from simulator.m3.openapi import GENERIC_PARAMS, openapi_document

PROGRAMS = {
    "CRS610MI", "CRS620MI", "MMS200MI", "MMS005MI", "MMS060MI", "MMS080MI", "OIS100MI",
    "OIS350MI", "PPS370MI", "PPS200MI", "PPS100MI", "APS450MI", "GLS840MI", "GLS200MI",
}  # fmt: skip
GENERIC = {
    "FpwVersion", "GetCurrentUser", "GetFieldHeading", "GetFixLevel", "GetMIBuild",
    "GetMessageText", "GetServerTime", "GetUserInfo", "ServerTimeZone",
}  # fmt: skip
# Transactions the engine gives behaviour to: they must be fully described.
SIMULATED = {
    "CRS610MI": ["Add", "ChgBasicData", "Delete", "GetBasicData", "LstByName", "LstByNumber"],
    "CRS620MI": ["AddSupplier", "DelSupplier", "GetBasicData", "LstByNumber", "UpdSupplier"],
    "MMS005MI": ["AddWarehouse", "GetWarehouse", "LstWarehouses", "UpdWarehouse", "DltWarehouse"],
    "MMS060MI": ["List", "Get"],
    "MMS200MI": ["AddItmBasic", "GetItmBasic", "GetItmWhsBal", "UpdItmBasic", "DltItm",
                 "LstItmByItm"],
    "OIS100MI": ["AddBatchHead", "AddBatchLine", "Confirm", "AddOrderHead", "AddOrderLine",
                 "GetHead", "GetLine", "LstLine", "LstHead", "DelHead", "DelLine", "GetOrderValue"],
    "OIS350MI": ["LstInvHead", "GetInvHead", "LstInvLine"],
    "PPS370MI": ["StartEntry", "AddHead", "AddLine", "FinishEntry", "DeleteEntry"],
    "PPS200MI": ["GetHead", "LstLine"],
    "APS450MI": ["AddHead", "AddLine", "ApproveInvoice", "GetHead"],
    "GLS840MI": ["AddBatchHead", "AddBatchLine", "CtrlBatch", "UpdBatch"],
}  # fmt: skip


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_every_program_is_packaged(catalog: Catalog) -> None:
    assert set(catalog.programs) == PROGRAMS


def test_crs610mi_add_mandatory_fields(catalog: Catalog) -> None:
    add = catalog.transaction("CRS610MI", "Add")
    assert add is not None and add.described and not add.list
    mandatory = {f.name: f.length for f in add.inputs if f.mandatory}
    assert mandatory == {"CUTM": 10, "CUNM": 36, "CUA1": 36}
    assert [f.name for f in add.inputs[:3]] == ["CUTM", "CUNM", "CUA1"]  # M3's order
    assert add.input_map["CONO"].type == "N" and add.input_map["CONO"].length == 3
    assert add.output_names == ("CUNO", "ERRM")


def test_mms200mi_additmbasic_mandatory(catalog: Catalog) -> None:
    t = catalog.transaction("MMS200MI", "AddItmBasic")
    assert t is not None
    mandatory = [f.name for f in t.inputs if f.mandatory]
    assert mandatory == ["STAT", "ITNO", "ITDS", "RESP", "UNMS", "ITTY", "MABU", "PRVG"]
    assert t.input_map["MABU"].type == "N"
    assert t.outputs == ()


def test_seed_names_that_do_not_exist_in_m3(catalog: Catalog) -> None:
    assert catalog.transaction("OIS100MI", "AddHead") is None
    assert catalog.transaction("OIS100MI", "AddLine") is None
    assert catalog.transaction("MMS200MI", "LstByNumber") is None
    assert catalog.transaction("GLS200MI", "Add") is None
    assert catalog.program("PIS100MI") is None
    batch = catalog.transaction("OIS100MI", "AddBatchHead")
    assert batch is not None and batch.input_map["CUNO"].mandatory
    assert batch.output_names == ("ORNO",)


def test_every_program_answers_the_generic_transactions(catalog: Catalog) -> None:
    for program in catalog.programs.values():
        assert set(program.transactions) >= GENERIC, program.name
        st = program.transactions["GetServerTime"]
        assert st.described and [(f.name, f.type) for f in st.outputs] == [
            ("DATE", "D"),
            ("TIME", "N"),
        ]


def test_simulated_transactions_are_fully_described(catalog: Catalog) -> None:
    for program, names in SIMULATED.items():
        for name in names:
            t = catalog.transaction(program, name)
            assert t is not None and t.described, f"{program}/{name}"
    hand = catalog.programs["MMS005MI"].limitations
    assert any("UpdWarehouse" in x and "by hand" in x for x in hand)
    dlt = catalog.transaction("MMS005MI", "DltWarehouse")
    assert dlt is not None and [(f.name, f.mandatory) for f in dlt.inputs] == [("WHLO", True)]


def test_transaction_lists_come_from_the_tenant(catalog: Catalog) -> None:
    ois100 = catalog.programs["OIS100MI"]
    assert len(ois100.transactions) == 122 + len(GENERIC)
    address = ois100.transactions["AddBatchAddress"]
    assert not address.described and address.inputs == () and address.description == ""
    assert catalog.programs["MMS080MI"].transactions["LstItemWarehous"].list
    assert catalog.programs["CRS610MI"].version == "640K"
    assert catalog.programs["PPS370MI"].description == "Api: Purchase order batch entry"


def test_dates_are_eight_digits_and_numbers_are_typed(catalog: Catalog) -> None:
    get = catalog.transaction("CRS610MI", "GetBasicData")
    assert get is not None
    out = {f.name: f for f in get.outputs}
    assert (out["RGDT"].type, out["RGDT"].length) == ("D", 8)
    assert (out["LMDT"].type, out["LMDT"].length) == ("D", 8)
    assert out["CONO"].type == "N" and out["CUNM"].type == "A"
    line = catalog.transaction("OIS100MI", "AddBatchLine")
    assert line is not None and line.input_map["DWDT"].type == "D"
    assert line.input_map["ORQT"].length == 16  # the tenant's length, kept as is
    bal = catalog.transaction("MMS200MI", "GetItmWhsBal")
    assert bal is not None and {"STQT", "ALQT", "AVAL"} <= {
        f.name for f in bal.outputs if f.type == "N"
    }
    for program in catalog.programs.values():
        for t in program.transactions.values():
            for f in (*t.inputs, *t.outputs):
                assert f.type != "D" or f.length == 8, (program.name, t.name, f.name)


def test_list_flags(catalog: Catalog) -> None:
    assert catalog.transaction("CRS610MI", "LstByNumber").list  # type: ignore[union-attr]
    assert catalog.transaction("MMS060MI", "List").list  # type: ignore[union-attr]
    assert not catalog.transaction("MMS060MI", "Get").list  # type: ignore[union-attr]
    assert catalog.transaction("CRS610MI", "SearchCustomer").list  # type: ignore[union-attr]


def test_valid_files_skip_jsonschema(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast check accepts every packaged file, so start-up never pays for jsonschema."""

    def boom() -> None:
        raise AssertionError("jsonschema used for a valid file")

    monkeypatch.setattr(program_schema, "_validator", boom)
    assert len(load_catalog().programs) == len(PROGRAMS)


# --- broken files ------------------------------------------------------------------------

GOOD = """\
program: EXT001MI
description: Test program
version: "1"
transactions:
  Add:
    description: Add
    list: false
    input:
      CUTM: {type: A, length: 10, mandatory: true, description: Template}
      RGDT: {type: D, length: 8, description: Entry date}
      ORQT: {type: N, length: 15, decimals: 6, description: Quantity}
    output:
      CUNO: {type: A, length: 10, description: Customer number}
  Lst: {}
"""


def write(tmp_path: Path, text: str, name: str = "EXT001MI.yaml") -> Path:
    folder = tmp_path / "contracts" / "mi"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def test_a_good_user_file_loads_with_the_generic_transactions(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    catalog = load_catalog(tmp_path)
    program = catalog.programs["EXT001MI"]
    assert program.source.endswith("EXT001MI.yaml")
    add = program.transactions["Add"]
    assert add.input_map["ORQT"].decimals == 6
    assert program.transactions["Lst"].list and not program.transactions["Lst"].described
    assert "GetServerTime" in program.transactions
    assert "CRS610MI" in catalog.programs  # packaged programs are still there


def test_a_user_file_shadows_the_packaged_one(tmp_path: Path) -> None:
    write(tmp_path, GOOD.replace("EXT001MI", "CRS610MI"), "CRS610MI.yaml")
    program = load_catalog(tmp_path).programs["CRS610MI"]
    assert program.description == "Test program" and "LstByName" not in program.transactions


BROKEN = [
    ("      CUTM: {type: A, length: 10,", "      CUTM: {type: A,", "/transactions/Add/input/CUTM",
     "length"),
    ("length: 10, mandatory", "length: ten, mandatory", "/transactions/Add/input/CUTM/length",
     "integer"),
    ("{type: A, length: 10,", "{type: X, length: 10,", "/transactions/Add/input/CUTM/type", "'X'"),
    ("length: 10, mandatory", "lenght: 10, length: 10, mandatory",
     "/transactions/Add/input/CUTM/lenght", "unknown key"),
    ("{type: D, length: 8,", "{type: D, length: 10,", "/transactions/Add/input/RGDT/length",
     "YYYYMMDD"),
    ("      RGDT:", "      CUTM: {type: A, length: 1}\n      RGDT:", "/transactions/Add/input/CUTM",
     "duplicate key 'CUTM' at line 10"),
    ('version: "1"', "version: 640", "/version", "quote"),
    ("length: 15, decimals: 6", "length: 6, decimals: 6", "/transactions/Add/input/ORQT/decimals",
     "less than"),
    ("{type: N, length: 15, decimals", "{type: A, length: 15, decimals",
     "/transactions/Add/input/ORQT/type", "decimals"),
    ("{type: A, length: 10, description: Customer number}",
     "{type: A, length: 10, mandatory: true, description: Customer number}",
     "/transactions/Add/output/CUNO/mandatory", "output"),
    ("  Lst: {}", "  Lst-X: {}", "/transactions/Lst-X", "invalid name"),
    ("    list: false", "    list: maybe", "/transactions/Add/list", "boolean"),
    ("program: EXT001MI", "program: EXT002MI", "/program", "EXT002MI.yaml"),
    ("program: EXT001MI", "program: EXT001MI\ngeneric: true", "/generic", "_generic.yaml"),
    ("  Lst: {}", "  Lst: []", "/transactions/Lst", "object"),
    ("description: Test program", "description: Test program\nowner: me", "/owner",
     "unknown key"),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "pointer", "reason"), BROKEN)
def test_broken_files_name_the_place(
    tmp_path: Path, old: str, new: str, pointer: str, reason: str
) -> None:
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ContractError) as e:
        load_catalog(tmp_path)
    assert e.value.file == str(path)
    assert (e.value.pointer, reason in e.value.reason) == (pointer, True), e.value.reason


def test_yaml_syntax_errors_give_the_line(tmp_path: Path) -> None:
    write(tmp_path, GOOD.replace("      RGDT: {type: D,", "      RGDT: {type: D,,["))
    with pytest.raises(ContractError) as e:
        load_catalog(tmp_path)
    assert e.value.pointer == "" and "line 10" in e.value.reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [("", "empty"), ("- a\n- b\n", "object"), ("a: 1\n---\nb: 2\n", "second YAML document")],
)
def test_files_that_are_not_a_program(tmp_path: Path, text: str, reason: str) -> None:
    write(tmp_path, text)
    with pytest.raises(ContractError) as e:
        load_catalog(tmp_path)
    assert reason in e.value.reason


def test_duplicate_program_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = write(tmp_path / "a", GOOD)
    b = write(tmp_path / "b", GOOD)
    monkeypatch.setattr(resources, "files", lambda *args, **kw: [a, b])
    with pytest.raises(ContractError) as e:
        load_catalog(tmp_path)
    assert (e.value.file, e.value.pointer) == (str(b), "/program")
    assert str(a) in e.value.reason


def test_keys_are_names_not_booleans(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("      CUTM:", "      NO:"))
    assert "NO" in load_program_file(path).transactions["Add"].input_map


def _schema_valid(data: Any) -> bool:
    return not list(program_schema._validator().iter_errors(data))


def test_fast_check_never_accepts_what_the_schema_refuses() -> None:
    """The fast check may be stricter than the schema, never looser."""
    base = yaml.safe_load(GOOD)
    assert program_schema._conforms(base) and _schema_valid(base)
    cutm = ("transactions", "Add", "input", "CUTM")
    mutations: list[tuple[tuple[str, ...], Any]] = [
        ((*cutm, "length"), 0),
        ((*cutm, "length"), True),
        ((*cutm, "length"), 10000),
        ((*cutm, "type"), "a"),
        ((*cutm, "mandatory"), "yes"),
        ((*cutm, "description"), 5),
        ((*cutm, "decimals"), 2),
        ((*cutm, "extra"), 1),
        (("transactions", "Add", "list"), 1),
        (("transactions", "Add", "input"), []),
        (("transactions", "Add", "output", "cuno"), {"type": "A", "length": 1}),
        (("transactions", "Add", "other"), {}),
        (("program",), "crs610mi"),
        (("generic",), "yes"),
        (("limitations",), ["ok", ""]),
        (("limitations",), "text"),
        (("version",), 1.5),
    ]
    for path, value in mutations:
        data = copy.deepcopy(base)
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        assert not _schema_valid(data), path
        assert not program_schema._conforms(data), path


def test_the_schema_is_valid_draft_2020_12() -> None:
    schema = program_schema._validator().schema
    assert schema["$schema"].endswith("2020-12/schema")
    jsonschema.Draft202012Validator.check_schema(schema)


# --- metadata, OpenAPI, coverage ----------------------------------------------------------


def test_metadata_documents(catalog: Catalog) -> None:
    programs = metadata_programs(catalog)["programs"]
    assert [p["name"] for p in programs] == sorted(PROGRAMS)
    crs = metadata_program(catalog.programs["CRS610MI"])
    add = next(t for t in crs["transactions"] if t["name"] == "Add")
    assert add["input"][0] == {
        "name": "CUTM",
        "type": "A",
        "length": 10,
        "mandatory": True,
        "description": "Customer template",
    }
    assert add["multipleRecords"] is False and add["described"] is True


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_openapi_has_one_operation_per_described_transaction(catalog: Catalog) -> None:
    doc = openapi_document(catalog, server_url="http://localhost:8080")
    assert doc["openapi"].startswith("3.1") and doc["servers"] == [{"url": "http://localhost:8080"}]
    described = sum(t.described for p in catalog.programs.values() for t in p.transactions.values())
    gets = [p for p, item in doc["paths"].items() if "get" in item]
    assert len(gets) == described
    op = doc["paths"]["/{tenant}/M3/m3api-rest/v2/execute/CRS610MI/Add"]["get"]
    params = {p.get("name"): p for p in op["parameters"] if "name" in p}
    assert params["CUTM"]["required"] is True and params["CUTM"]["schema"]["maxLength"] == 10
    assert "pattern" in params["CONO"]["schema"]
    refs = {p["$ref"].rsplit("/", 1)[1] for p in op["parameters"] if "$ref" in p}
    assert refs == {"tenant", *GENERIC_PARAMS}
    assert "/{tenant}/M3/m3api-rest/v2/execute/OIS100MI/AddBatchAddress" not in doc["paths"]
    assert "post" in doc["paths"]["/{tenant}/M3/m3api-rest/v2/execute"]
    token = doc["paths"]["/{tenant}/as/token.oauth2"]["post"]
    assert "application/x-www-form-urlencoded" in token["requestBody"]["content"]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    response = doc["components"]["schemas"]["MIResponse"]
    assert "nrOfSuccessfullTransactions" in response["properties"]
    ids = [item[m]["operationId"] for item in doc["paths"].values() for m in item]
    assert len(ids) == len(set(ids))
    for ref in _refs(doc):  # every reference resolves
        node: Any = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
    for path, item in doc["paths"].items():  # every {tenant} is declared
        for operation in item.values():
            assert "{tenant}" in path
            assert {"$ref": "#/components/parameters/tenant"} in operation["parameters"]


def test_coverage_table(catalog: Catalog) -> None:
    table = coverage_table(catalog, lambda p, t: (p, t) in {("CRS610MI", "Add")})
    lines = table.splitlines()
    row = next(line for line in lines if line.startswith("| CRS610MI |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    crs = catalog.programs["CRS610MI"]
    described = sum(t.described for t in crs.transactions.values())
    assert cells[:5] == ["CRS610MI", "Customer interface", "1", str(described),
                         str(len(crs.transactions))]  # fmt: skip
    assert "- **CRS610MI**: Add" in lines
    assert "- **OIS100MI**: (none)" in lines
    mms005 = next(line for line in lines if line.startswith("| MMS005MI |"))
    assert "by hand" in mms005


def test_catalog_cache_sees_edits_and_survives_corruption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from simulator import filecache as catalog_cache

    monkeypatch.setattr(catalog_cache, "cache_dir", lambda: tmp_path / "cache")
    mi = tmp_path / "data" / "contracts" / "mi"
    mi.mkdir(parents=True)
    src = Path(__file__).resolve().parent.parent / "contracts" / "mi" / "CRS610MI.yaml"
    target = mi / "CRS610MI.yaml"
    target.write_text(src.read_text().replace("Customer interface", "First text"))
    assert load_catalog(tmp_path / "data").programs["CRS610MI"].description == "First text"
    assert load_catalog(tmp_path / "data").programs["CRS610MI"].description == "First text"
    target.write_text(src.read_text().replace("Customer interface", "Second text, longer"))
    assert load_catalog(tmp_path / "data").programs["CRS610MI"].description == "Second text, longer"
    for f in (tmp_path / "cache").iterdir():
        f.write_bytes(b"not a pickle")
    assert load_catalog(tmp_path / "data").programs["CRS610MI"].description == "Second text, longer"
