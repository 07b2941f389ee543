"""The compliance audit trail.

records   AuditRecord: engine events, session events and raw FIX messages in one flat shape
journal   the append-only, hash-chained local journal (written before replies leave)
schema    the database tables (SQLAlchemy Core) and ensure_schema
loader    JournalLoader: journal -> PostgreSQL (COPY) or SQLite, idempotent, catches up after outages
verify    verify_chain: recheck the hash chain and every row against its body in the database
command_journal  the venue's input journal: each command, written before its replies leave
auditor   derives audit records from the input journal and QuickFIX's message logs
audit_service  `fixex audit`: auditor + loader as one process (serve runs it)
fees      FeeSchedule: the maker / taker fee of each execution from the firm's fee tier
exports   the compliance exports (orders, rts24, trades, bars, summary), streamed from the database
report_cli  `fixex report KIND`: the exports and verify on the command line
"""
