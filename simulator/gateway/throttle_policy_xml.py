"""Infor's XML form of a throttling or quota policy, read down to the values its elements hold.

XML needs defences and structure checks that JSON does not: a size cap, no DTDs, and unknown or
repeated elements refused by name. Values stay text here and are checked in `throttle_policy.py`,
the same way as the JSON forms' values, so both forms accept and refuse the same policies.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from simulator.errors import RequestError

_MAX_XML_CHARS = 65536
_FORBIDDEN_XML = re.compile(r"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
_THROTTLE_ATTRS = frozenset({"name", "displayName", "enabled", "version"})


def read_policy_xml(text: str | bytes) -> tuple[dict[str, object], dict[str, object] | None]:
    """Read Infor's XML: `<throttling>`, `<quota>`, or both under any one root element.

    Returns the throttling values under Infor's flattened names (`rateSmoothing.delayAfterCount`,
    plus `enabled` from the attribute) and the quota's values (None without a `<quota>`), as text.

    The namespace is optional. DTDs are refused outright: the standard library parser would
    expand internal entities, and a policy never needs a DTD.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RequestError(f"throttle policy XML is not UTF-8: {exc}") from None
    if not isinstance(text, str):
        raise RequestError("throttle policy XML must be text")
    if len(text) > _MAX_XML_CHARS:
        raise RequestError(f"throttle policy XML is too large (over {_MAX_XML_CHARS} characters)")
    if _FORBIDDEN_XML.search(text):
        raise RequestError("throttle policy XML must not contain DOCTYPE or ENTITY declarations")
    try:
        root = ET.fromstring(text.lstrip("\ufeff").strip())
    except ET.ParseError as exc:
        raise RequestError(f"throttle policy XML is not well-formed: {exc}") from None

    name = _local(root.tag)
    throttling: ET.Element | None
    quota_el: ET.Element | None
    if name == "throttling":
        throttling, quota_el = root, None
    elif name == "quota":
        throttling, quota_el = None, root
    else:
        throttling = quota_el = None
        _no_text(root, name)
        for child in root:
            child_name = _local(child.tag)
            if child_name == "throttling" and throttling is None:
                throttling = child
            elif child_name == "quota" and quota_el is None:
                quota_el = child
            else:
                raise RequestError(
                    f"unexpected element <{child_name}> in <{name}>; "
                    "expected one <throttling> and/or one <quota>"
                )
        if throttling is None and quota_el is None:
            raise RequestError(f"<{name}> holds neither <throttling> nor <quota>")

    flat: dict[str, object] = {}
    if throttling is not None:
        for attr, value in throttling.attrib.items():
            if attr.startswith("{"):
                continue  # namespaced attributes such as xsi:schemaLocation
            if attr not in _THROTTLE_ATTRS:
                raise RequestError(
                    f"unknown attribute {attr!r} on <throttling>; expected "
                    + ", ".join(sorted(_THROTTLE_ATTRS))
                )
            if attr == "enabled":
                flat["enabled"] = value
        for child in _children(
            throttling,
            "throttling",
            {"timePeriodInMilliseconds", "rateSmoothing", "spikeArrest", "quota"},
        ):
            child_name = _local(child.tag)
            if child_name == "timePeriodInMilliseconds":
                flat[child_name] = _text(child, child_name)
            elif child_name == "quota":
                if quota_el is not None:
                    raise RequestError("<quota> is given twice")
                quota_el = child
            else:
                allowed = (
                    {"delayAfterCount", "delayFactorInMilliseconds"}
                    if child_name == "rateSmoothing"
                    else {"maxRequestsPerPeriod"}
                )
                for leaf in _children(child, child_name, allowed):
                    leaf_name = f"{child_name}.{_local(leaf.tag)}"
                    flat[leaf_name] = _text(leaf, leaf_name)
    quota: dict[str, object] | None = None
    if quota_el is not None:
        quota = {}
        for leaf in _children(quota_el, "quota", {"allow", "interval", "timeUnit", "userLevel"}):
            quota[_local(leaf.tag)] = _text(leaf, f"quota.{_local(leaf.tag)}")
    return flat, quota


def _local(tag: str) -> str:
    """Element name without its namespace, so the Infor namespace is optional."""
    return tag.rpartition("}")[2]


def _no_text(el: ET.Element, name: str) -> None:
    if el.text and el.text.strip():
        raise RequestError(f"<{name}> must contain elements, not text")


def _children(el: ET.Element, name: str, allowed: set[str]) -> list[ET.Element]:
    """Children of a container element; unknown or repeated ones are refused by name."""
    _no_text(el, name)
    seen: set[str] = set()
    out: list[ET.Element] = []
    for child in el:
        child_name = _local(child.tag)
        if child_name not in allowed:
            raise RequestError(
                f"unknown element <{child_name}> in <{name}>; expected "
                + ", ".join(f"<{a}>" for a in sorted(allowed))
            )
        if child_name in seen:
            raise RequestError(f"<{child_name}> is given twice in <{name}>")
        seen.add(child_name)
        if child.tail and child.tail.strip():
            raise RequestError(f"<{name}> must contain elements, not text")
        out.append(child)
    return out


def _text(el: ET.Element, field: str) -> str:
    if len(el):
        raise RequestError(f"{field} must be a value, not elements")
    return el.text or ""
