"""Tracenet's domain core: the tamper-evident log and the application on top of it.

``log/`` is the transparency log and knows nothing of food; ``supervision/`` is the personality
that gives its entries a meaning (record types, rules, projections, the ``submit`` door);
``accounts/`` holds who acts on the network; readers and services (``trace/``, ``recall/``,
``outbox/``) sit beside supervision; ``demo/`` is data for a fresh install. Nothing here imports
Flask: the web layer is a thin shell over these packages (see docs/ARCHITECTURE.md).
"""
