"""Self-contained HTML reports (:class:`Report`, :class:`Section`)."""

from biolake.report.html import Report, Section

__all__ = ["Report", "Section"]
