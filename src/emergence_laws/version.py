"""The package's version (`emergence_laws.__version__`): in job keys, provenance records and `--version`."""

__version__ = "0.1.0"
