"""督/考 output: the rates chart (PNG), the annex ledgers (.xlsx) and the report text.

Everything here takes plain records and returns bytes or text; it reads no database and
sends nothing (bot/services does that).
"""
