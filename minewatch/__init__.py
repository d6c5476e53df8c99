"""minewatch: mine-safety feeds in, a PostgreSQL warehouse and concealed-works flags out.

The core package: configuration (`config`), warehouse access and migrations
(`warehouse`), the one load path every feed goes through (`load`), the
landing-folder runner shared by the CLI and the DAGs (`pipeline`) and the
command line (`cli`).
"""

__version__ = "0.1.0"
