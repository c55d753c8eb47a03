"""The supervision personality: what Tracenet's entries mean.

One registry of record types (:mod:`.registry`) drives the rules (``products``, ``lots``,
``movements``, ``units``, ``corrections``), the payload schemas, spreadsheets and console
forms; the projections (:mod:`.models`) are kept by :class:`.admission.RecordAdmission` and
rebuilt by :func:`.admission.rebuild`; reference data (the 69 categories, standards, GB 2760)
ships with the package; :func:`.submit.submit` is the one door every record comes through.
"""
