"""What each FIX version can say, from the data dictionaries the quickfix package ships.

A strict counterparty rejects a value its dictionary lacks, so every code we send
goes through these tables: a precise code where the version has it, else the
nearest valid one (99 "other" where it exists, else 0), with the precise reason
in Text.
"""

from __future__ import annotations

from dataclasses import dataclass

from matching import CancelRejectReason, MassCancelRejectReason, OrderRejectReason


@dataclass(frozen=True, slots=True)
class FixVersion:
    name: str  # the application version: FIX.4.2, FIX.4.4, FIX.5.0SP2
    ord_rej_reasons: frozenset[int]  # OrdRejReason (103)
    cxl_rej_reasons: frozenset[int]  # CxlRejReason (102)
    business_reject_reasons: frozenset[int]  # BusinessRejectReason (380)
    mass_cancel_reject_reasons: frozenset[int]  # MassCancelRejectReason (532); empty: no mass cancel
    exec_trans_type: bool  # 4.2 ExecutionReports carry ExecTransType (20)
    trade_exec_type: bool  # fills are ExecType F (4.4 on); 4.2 uses 1 partial / 2 fill
    replaced_status: bool  # OrdStatus 5 (Replaced) exists: 4.2 and 5.0 SP2, not 4.4
    triggered_exec_type: bool  # ExecType L (triggered by the system): 5.0 SP2 only
    self_match_prevention: bool  # SelfMatchPreventionInstruction (2964) / ID (2362): 5.0 SP2 only
    logon_credentials: bool  # Logon carries Username (553) / Password (554): 4.4 and FIXT
    liquidity_indicator: bool  # LastLiquidityInd (851) in ExecutionReport: 4.4 on
    trade_match_id: bool  # TrdMatchID (880) in ExecutionReport: 5.0 SP2 only
    mass_action_report_id: bool  # MassActionReportID (1369), required in 5.0 SP2's report

    def ord_rej_reason(self, reason: OrderRejectReason) -> int:
        return _nearest(int(reason), self.ord_rej_reasons)

    def cxl_rej_reason(self, reason: CancelRejectReason) -> int:
        code = int(reason)
        if code not in self.cxl_rej_reasons and 99 not in self.cxl_rej_reasons:
            return 2  # FIX 4.2 has no 99: 2 is "broker / exchange option"
        return _nearest(code, self.cxl_rej_reasons)

    def business_reject_reason(self, code: int) -> int:
        return _nearest(code, self.business_reject_reasons)

    def mass_cancel_reject_reason(self, reason: MassCancelRejectReason) -> int:
        return _nearest(int(reason), self.mass_cancel_reject_reasons)


def _nearest(code: int, valid: frozenset[int]) -> int:
    if code in valid:
        return code
    return 99 if 99 in valid else 0


FIX42 = FixVersion(
    "FIX.4.2", frozenset(range(0, 9)), frozenset(range(0, 4)), frozenset(range(0, 6)), frozenset(),
    exec_trans_type=True, trade_exec_type=False, replaced_status=True, triggered_exec_type=False,
    self_match_prevention=False, logon_credentials=False, liquidity_indicator=False, trade_match_id=False,
    mass_action_report_id=False)
FIX44 = FixVersion(
    "FIX.4.4", frozenset([*range(0, 12), 13, 14, 15, 99]), frozenset([*range(0, 7), 99]), frozenset(range(0, 8)),
    frozenset([*range(0, 7), 99]),
    exec_trans_type=False, trade_exec_type=True, replaced_status=False, triggered_exec_type=False,
    self_match_prevention=False, logon_credentials=True, liquidity_indicator=True, trade_match_id=False,
    mass_action_report_id=False)
FIX50SP2 = FixVersion(
    "FIX.5.0SP2", frozenset([*range(0, 17), *range(18, 30), 99]), frozenset([*range(0, 9), 18, 99]),
    frozenset([*range(0, 11), 18]), frozenset([*range(0, 12), 99]),
    exec_trans_type=False, trade_exec_type=True, replaced_status=True, triggered_exec_type=True,
    self_match_prevention=True, logon_credentials=True, liquidity_indicator=True, trade_match_id=True,
    mass_action_report_id=True)

VERSIONS = {v.name: v for v in (FIX42, FIX44, FIX50SP2)}

# BusinessRejectReason (380) codes we use
OTHER_BUSINESS_REASON = 0
UNKNOWN_SECURITY = 2
UNSUPPORTED_MESSAGE_TYPE = 3
APPLICATION_NOT_AVAILABLE = 4
NOT_AUTHORIZED = 6  # 4.4 on; 4.2 falls back to 0 "other"
THROTTLE_LIMIT_EXCEEDED = 8  # 5.0 SP2 only
