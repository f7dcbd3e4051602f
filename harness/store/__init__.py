"""The results format: the schema (a cell's row, its key, the statuses), reading and writing
results files whole, and strings from them made plain for a terminal.  Standard library,
pandas and pyarrow only.
"""
