"""Tracenet's domain core: the tamper-evident ledger and the services built on it.

Nothing here imports Flask; the web layer is a thin shell over these modules.
"""
