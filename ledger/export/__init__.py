"""Exports of ledger records in formats other parties prescribe (``fsma204``: the FDA's
electronic sortable spreadsheet of FSMA 204 critical tracking events)."""

from __future__ import annotations
