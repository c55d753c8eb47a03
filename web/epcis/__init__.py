"""The GS1 EPCIS 2.0 REST binding under ``/epcis``: capture (``capture``, with its jobs in
``jobs``) and queries."""
