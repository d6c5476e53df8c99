"""One module per feed dialect: pure parsers from vendor bytes to records and rejects.

Connectors never touch the database or the clock. `connectors.catalog` maps a
landing file's name to the stream that reads it.
"""
