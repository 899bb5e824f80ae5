"""The derivation and verification report: HTML (self-contained, MathML, inline SVG) and Markdown."""

from lstm_proofs.report.build import build_report, load_report_data
from lstm_proofs.report.model import ReportData

__all__ = ["ReportData", "build_report", "load_report_data"]
