"""The derivation and verification report: HTML (self-contained, MathML, inline SVG) and Markdown."""

from lstm_proofs.report.build import ReportData, build_report, load_report_data

__all__ = ["ReportData", "build_report", "load_report_data"]
