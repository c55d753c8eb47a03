"""Accounts: who acts on the network, beside the ledger rather than in it.

Console users (:mod:`.users`), API tokens (:mod:`.tokens`), custodial keys and their vault
(:mod:`.custodial`), enrolment of enterprises (:mod:`.enrolment`), and the roles they act in
(:mod:`.roles`), what each may see (:mod:`.scope`), and the audit trail of what they did
(:mod:`.audit`). Nothing here is a projection: ``rebuild`` leaves it alone.
"""
