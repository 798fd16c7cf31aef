"""Table-level entry points: take a results DataFrame, call the pure laws, return JSON-ready results."""
