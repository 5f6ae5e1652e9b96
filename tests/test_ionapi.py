"""The `.ionapi` document must look like a real download, so clients work by swapping the file."""

from __future__ import annotations

import json
import random
import re

import pytest

from simulator.gateway.ionapi import (
    Credentials,
    default_credentials,
    ionapi_document,
    random_credentials,
    read_ionapi,
)

B64 = r"[A-Za-z0-9_-]"
KEYS = ["ti", "cn", "dt", "ci", "cs", "iu", "pu", "oa", "ot", "or", "ev", "v", "saak", "sask"]


def check_shape(creds: Credentials, tenant: str) -> None:
    assert creds.ti == tenant
    assert re.fullmatch(re.escape(tenant) + "~" + B64 + "{43}", creds.ci)
    assert re.fullmatch(B64 + "{86}", creds.cs)
    assert re.fullmatch(re.escape(tenant) + "#" + B64 + "{86}", creds.saak)
    assert re.fullmatch(B64 + "{86}", creds.sask)
    assert re.fullmatch(r"V\d{10}", creds.ev)


def test_default_credentials_are_stable_and_shaped() -> None:
    a, b = default_credentials("DEMO_TST"), default_credentials("DEMO_TST")
    assert a == b
    check_shape(a, "DEMO_TST")
    assert a.cn == "ionsim"


def test_default_credentials_known_value() -> None:
    """Pinned, so a .ionapi written by one version or machine keeps working with the next."""
    creds = default_credentials("DEMO_TST")
    assert creds.ci == "DEMO_TST~G01QzERLljscDzhJiWcJfNk34-2gvXIQPzHWv2txypg"
    assert creds.ev == "V1456127024"
    assert creds.sask.startswith("FcQJKL9zZv68ICfPLhae")
    assert len({creds.cs, creds.sask, creds.saak.split("#")[1]}) == 3


def test_default_credentials_differ_per_tenant() -> None:
    a, b = default_credentials("DEMO_TST"), default_credentials("ACME_PRD")
    check_shape(b, "ACME_PRD")
    assert a.ci.split("~")[1] != b.ci.split("~")[1]
    assert a.cs != b.cs and a.sask != b.sask


def test_random_credentials_differ() -> None:
    a, b = random_credentials("DEMO_TST"), random_credentials("DEMO_TST")
    check_shape(a, "DEMO_TST")
    assert a.cs != b.cs and a.ci != b.ci and a.sask != b.sask
    assert a.cs != default_credentials("DEMO_TST").cs


def test_random_credentials_reproducible_with_seeded_rng() -> None:
    a = random_credentials("DEMO_TST", random.Random(7))
    b = random_credentials("DEMO_TST", random.Random(7))
    c = random_credentials("DEMO_TST", random.Random(8))
    check_shape(a, "DEMO_TST")
    assert a == b
    assert a != c


def test_repr_hides_secrets() -> None:
    creds = default_credentials("DEMO_TST")
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert creds.cs not in text
        assert creds.saak not in text
        assert creds.sask not in text
        assert creds.saak.split("#")[1] not in text
    assert creds.ci in repr(creds)


def test_document_has_the_14_keys_in_order() -> None:
    creds = default_credentials("DEMO_TST")
    doc = ionapi_document(creds, "http://127.0.0.1:8080/")
    assert list(doc) == KEYS
    assert list(json.loads(json.dumps(doc))) == KEYS
    assert doc["iu"] == "http://127.0.0.1:8080"
    assert doc["pu"] == "http://127.0.0.1:8080/DEMO_TST/as/"
    assert doc["pu"].endswith("/") and not doc["iu"].endswith("/")
    assert doc["pu"] + doc["ot"] == "http://127.0.0.1:8080/DEMO_TST/as/token.oauth2"
    assert doc["pu"] + doc["or"] == "http://127.0.0.1:8080/DEMO_TST/as/revoke_token.oauth2"
    assert (doc["dt"], doc["v"], doc["oa"]) == ("12", "1.0", "authorization.oauth2")
    assert (doc["ci"], doc["cs"], doc["saak"], doc["sask"]) == (
        creds.ci,
        creds.cs,
        creds.saak,
        creds.sask,
    )
    assert all(isinstance(v, str) for v in doc.values())


def test_read_ionapi_round_trip_from_path_text_and_mapping(tmp_path) -> None:
    doc = ionapi_document(default_credentials("DEMO_TST"), "http://127.0.0.1:9")
    path = tmp_path / "local.ionapi"
    # A byte-order mark, as Windows editors write, must not matter.
    path.write_text(json.dumps(doc), encoding="utf-8-sig")
    assert read_ionapi(path) == doc
    assert read_ionapi(str(path)) == doc
    assert read_ionapi(json.dumps(doc, indent=2)) == doc
    assert read_ionapi(doc) == doc


def test_read_ionapi_accepts_unknown_keys() -> None:
    doc = dict(ionapi_document(default_credentials("T1"), "http://h"), sc={}, ru="https://x/")
    doc["v"] = "1.1"
    got = read_ionapi(doc)
    assert got["ru"] == "https://x/" and got["v"] == "1.1"
    assert "sc" not in got


def test_read_ionapi_client_credentials_file_without_service_account() -> None:
    doc = ionapi_document(default_credentials("T1"), "http://h")
    del doc["saak"], doc["sask"]
    assert "saak" not in read_ionapi(doc)


def test_read_ionapi_names_every_missing_key() -> None:
    doc = ionapi_document(default_credentials("T1"), "http://h")
    del doc["ci"], doc["ot"]
    doc["cs"] = ""
    with pytest.raises(ValueError) as info:
        read_ionapi(doc)
    message = str(info.value)
    assert "ci" in message and "cs" in message and "ot" in message
    assert "ti" not in message.split(":")[-1].replace("ionapi", "")


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '"ti"'])
def test_read_ionapi_rejects_what_is_not_an_object(text: str, tmp_path) -> None:
    path = tmp_path / "bad.ionapi"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"bad\.ionapi"):
        read_ionapi(path)


def test_read_ionapi_missing_file() -> None:
    with pytest.raises(FileNotFoundError):
        read_ionapi("/nonexistent/dir/x.ionapi")
