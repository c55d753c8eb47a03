"""Risk: spot-check draws (双随机抽查), early warning (预警) and standards warnings (标准预警).

A reader of the supervision projections, like trace and recall: the draws are decided here
(frames and weights, :mod:`.draws`) and appended through ``submit`` as ``spot_check_plan`` /
``spot_check_draw`` entries, whose rules and arithmetic are in ``ledger.supervision``
(``spot_checks``, ``sampling``) so that the ledger itself re-runs every draw it admits;
failure rates and the alert rule are :mod:`.warning`, with the alerts in their own table
(:mod:`.models`); standards warnings are :mod:`.standards`.
"""
