"""Every reason code we can send is in the session version's own data dictionary."""

import importlib.metadata
import xml.etree.ElementTree as ET

import pytest

from fix_gateway.versions import FIX42, FIX44, FIX50SP2
from matching import CancelRejectReason, MassCancelRejectReason, OrderRejectReason

DICTIONARY = {FIX42: "FIX42.xml", FIX44: "FIX44.xml", FIX50SP2: "FIX50SP2.xml"}


def enum_values(dictionary: str, field: str) -> set[int]:
    dist = importlib.metadata.distribution("quickfix")
    path = next(dist.locate_file(p) for p in dist.files if p.name == dictionary)
    for node in ET.parse(path).getroot().find("fields"):
        if node.get("name") == field:
            return {int(v.get("enum")) for v in node.findall("value")}
    return set()


@pytest.mark.parametrize("version", [FIX42, FIX44, FIX50SP2], ids=lambda v: v.name)
def test_every_order_and_cancel_reject_reason_maps_into_the_versions_dictionary(version):
    dictionary = DICTIONARY[version]
    assert {version.ord_rej_reason(r) for r in OrderRejectReason} <= enum_values(dictionary, "OrdRejReason")
    assert {version.cxl_rej_reason(r) for r in CancelRejectReason} <= enum_values(dictionary, "CxlRejReason")
    assert {version.business_reject_reason(c) for c in (3, 6, 8)} <= enum_values(dictionary, "BusinessRejectReason")
    if version.mass_cancel_reject_reasons:
        assert ({version.mass_cancel_reject_reason(r) for r in MassCancelRejectReason}
                <= enum_values(dictionary, "MassCancelRejectReason"))


@pytest.mark.parametrize("version", [FIX42, FIX44, FIX50SP2], ids=lambda v: v.name)
def test_the_version_tables_match_the_shipped_dictionaries_exactly(version):
    dictionary = DICTIONARY[version]
    assert version.ord_rej_reasons == enum_values(dictionary, "OrdRejReason")
    assert version.cxl_rej_reasons == enum_values(dictionary, "CxlRejReason")
    assert version.business_reject_reasons == enum_values(dictionary, "BusinessRejectReason")
    assert version.mass_cancel_reject_reasons == enum_values(dictionary, "MassCancelRejectReason")


def test_codes_a_version_lacks_fall_back_to_other_or_zero():
    assert FIX50SP2.ord_rej_reason(OrderRejectReason.INVALID_PRICE_INCREMENT) == 18
    assert FIX44.ord_rej_reason(OrderRejectReason.INVALID_PRICE_INCREMENT) == 99
    assert FIX42.ord_rej_reason(OrderRejectReason.INVALID_PRICE_INCREMENT) == 0
    assert FIX42.ord_rej_reason(OrderRejectReason.INCORRECT_QUANTITY) == 0
    assert FIX44.ord_rej_reason(OrderRejectReason.INCORRECT_QUANTITY) == 13
    assert FIX44.cxl_rej_reason(CancelRejectReason.DUPLICATE_CLORDID) == 6
    assert FIX42.cxl_rej_reason(CancelRejectReason.DUPLICATE_CLORDID) == 2
    assert FIX44.business_reject_reason(8) == 0 and FIX50SP2.business_reject_reason(8) == 8
