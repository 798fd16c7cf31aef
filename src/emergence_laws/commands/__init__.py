"""CLI subcommands: one module each, with `add_parser(subparsers)` and `run(args) -> int`.

Modules here must stay import-light (no torch, no pandas at module level) so `emergence --help`
is instant; import heavy things inside `run`.
"""
