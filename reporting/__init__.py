"""The compliance audit trail.

records   AuditRecord: engine events, session events and raw FIX messages in one flat shape
journal   the append-only, hash-chained local journal (written before replies leave)
schema    the database tables (SQLAlchemy Core) and ensure_schema
loader    JournalLoader: journal -> PostgreSQL (COPY) or SQLite, idempotent, catches up after outages
verify    verify_chain: recheck the hash chain and every row against its body in the database
"""
