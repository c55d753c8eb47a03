"""GS1 EPCIS 2.0, the wire format: what the ``/epcis`` capture stands on.

- :mod:`.hashing` -- the CBV 2.0 event hash ID (``ni:///sha-256;...?ver=CBV2.0``) of an event,
  with the vectors' document-level ``ignoreFields`` extension;
- :mod:`.identifiers` -- EPC URIs and GS1 Digital Link URIs to the one constrained canonical
  Digital Link form the hash uses;
- :mod:`.schema` -- documents and events against GS1's EPCIS 2.0 JSON Schema, every problem
  an :class:`~ledger.errors.EPCISError` with its field path.

All pure: no database, no Flask. Nothing is imported here, so loading the hash does not compile
the schema.
"""
