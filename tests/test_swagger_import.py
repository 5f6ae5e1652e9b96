"""Converting M3 MI Swagger 2.0 documents into program YAML."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from simulator.errors import ContractError
from simulator.m3.catalog_loader import load_catalog, load_program_file
from simulator.m3.metadata import metadata_program
from simulator.m3.swagger import dump_program, import_swagger
from simulator.m3.swagger_program import program_from_swagger

FIXTURE = Path(__file__).parent / "fixtures_swagger" / "CRS610MI.json"


@pytest.fixture
def doc() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())


def test_program_header(doc: dict[str, Any]) -> None:
    program = program_from_swagger(doc, str(FIXTURE))
    assert (program["program"], program["description"], program["version"]) == (
        "CRS610MI",
        "Customer interface",
        "640K",
    )
    assert list(program["transactions"]) == ["Add", "Delete", "GetBasicData", "LstByNumber"]


def test_inputs_exclude_the_generic_parameters(doc: dict[str, Any]) -> None:
    add = program_from_swagger(doc, "x")["transactions"]["Add"]
    assert list(add["input"]) == ["CUTM", "CUNM", "CUA1", "CONO", "CUNO", "CUTP"]
    assert add["input"]["CUTM"] == {
        "type": "A",
        "length": 10,
        "mandatory": True,
        "description": "Customer template",
    }
    assert add["input"]["CONO"]["type"] == "N" and "mandatory" not in add["input"]["CONO"]
    assert add["description"] == "Create a new customer record" and add["list"] is False


def test_outputs_come_from_the_records_example(doc: dict[str, Any]) -> None:
    trx = program_from_swagger(doc, "x")["transactions"]
    get = trx["GetBasicData"]["output"]
    assert list(get) == ["CONO", "CUNO", "CUNM", "STAT", "LMDT", "RGDT"]
    assert get["LMDT"] == {"type": "D", "length": 8, "description": "Change date for customer"}
    assert get["CONO"]["type"] == "N"  # numeric on input in the same program
    assert trx["Delete"]["output"] == {}
    assert trx["LstByNumber"]["list"] is True


def test_generic_transactions_are_left_to_the_generic_file(doc: dict[str, Any]) -> None:
    assert "GetServerTime" not in program_from_swagger(doc, "x")["transactions"]


def test_round_trip_through_the_loader(doc: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "contracts" / "mi"
    [written] = import_swagger([FIXTURE], out)
    assert written == out / "CRS610MI.yaml"
    program = load_program_file(written)
    converted = program_from_swagger(doc, "x")
    meta = metadata_program(program)
    for t in meta["transactions"]:
        source = converted["transactions"][t["name"]]
        for kind in ("input", "output"):
            assert [f["name"] for f in t[kind]] == list(source[kind])
            for f in t[kind]:
                assert f["type"] == source[kind][f["name"]]["type"]
                assert f["length"] == source[kind][f["name"]]["length"]
                assert f["mandatory"] == source[kind][f["name"]].get("mandatory", False)
    # The fixture agrees with the packaged tenant export, field by field.
    packaged = load_catalog().programs["CRS610MI"].transactions
    for name, t in program.transactions.items():
        for f in t.inputs:
            real = packaged[name].input_map[f.name]
            assert (f.type, f.length, f.mandatory) == (real.type, real.length, real.mandatory)
    # An imported file in a data folder shadows the packaged program.
    catalog = load_catalog(tmp_path)
    assert "LstByName" not in catalog.programs["CRS610MI"].transactions
    assert "GetServerTime" in catalog.programs["CRS610MI"].transactions


def test_dump_quotes_what_yaml_would_misread(tmp_path: Path) -> None:
    program = {
        "program": "EXT001MI",
        "description": "Api: test # not a comment",
        "version": "6409",
        "limitations": ["yes"],
        "transactions": {
            "Get": {
                "description": "{odd}",
                "list": False,
                "input": {"NO": {"type": "A", "length": 1, "description": "true"}},
                "output": {},
            },
            "Lst": {},
        },
    }
    path = tmp_path / "EXT001MI.yaml"
    path.write_text(dump_program(program))
    loaded = load_program_file(path)
    assert loaded.description == "Api: test # not a comment"
    assert loaded.version == "6409" and loaded.limitations == ("yes",)
    get = loaded.transactions["Get"]
    assert get.description == "{odd}" and get.input_map["NO"].description == "true"
    assert not loaded.transactions["Lst"].described


def _broken(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(doc)
    node = data
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "pointer", "reason"),
    [
        (("swagger",), "3.0", "/swagger", "Swagger 2.0"),
        (("basePath",), "/BVB_DEV/IDM/api", "/basePath", "not an M3 MI Swagger"),
        (("paths",), {}, "/paths", "no paths"),
        (("paths", "/Add", "get", "parameters", 0, "description"), "Customer template",
         "/paths/~1Add/get/parameters/0/description", "CUTM"),
        (("paths", "/Add"), {"post": {}}, "", ""),
    ],
)  # fmt: skip
def test_bad_documents(
    doc: dict[str, Any], path: tuple[Any, ...], value: Any, pointer: str, reason: str
) -> None:
    bad = _broken(doc, path, value)
    if not reason:  # a path without GET is skipped, not an error
        assert "Add" not in program_from_swagger(bad, "x")["transactions"]
        return
    with pytest.raises(ContractError) as e:
        program_from_swagger(bad, "bad.json")
    assert (e.value.file, e.value.pointer) == ("bad.json", pointer)
    assert reason in e.value.reason


def test_files_that_are_not_swagger(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not: [json")
    with pytest.raises(ContractError) as e:
        import_swagger([garbage], tmp_path / "out")
    assert e.value.file == str(garbage)
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]")
    with pytest.raises(ContractError, match="not a Swagger document"):
        import_swagger([listing], tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written for a failed import


def test_the_same_program_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match="already imported"):
        import_swagger([FIXTURE, FIXTURE], tmp_path)
