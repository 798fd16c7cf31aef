"""Figures (matplotlib, Agg backend) and one self-contained HTML report for `fit`, `backtest`, `detect`,
`compare` and `demo` outputs; plain words for a prediction (`summary.py`). Torch-free.

    from emergence_laws.report.html import render_report
"""
