"""Prometheus exposition (technical and business metrics) and KPI definitions and exports."""
