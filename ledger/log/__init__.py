"""The transparency log, which knows nothing of food.

It stores signed statements as entries in a hash chain and an RFC 6962 Merkle tree, signs
checkpoints (C2SP signed notes), proves inclusion and consistency, and verifies itself. Who may
sign is on the log too (identity entries). What an entry *means* is the personality's business
(:mod:`ledger.supervision`), which admits entries through the :class:`Admission` protocol.

The pure modules (``canonical``, ``entry``, ``merkle``, ``checkpoint``, ``identity``, ``keys``)
import no SQLAlchemy; ``storage``, ``directory``, ``sequencer``, ``proofs`` and ``verify`` work
on the caller's session (and ``sweep``, verify's worker processes, on their own connections).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names, eagerly, for type checkers
    from ledger.log.proofs import (
        ConsistencyProof as ConsistencyProof,
    )
    from ledger.log.proofs import (
        InclusionProof as InclusionProof,
    )
    from ledger.log.proofs import (
        consistency_proof as consistency_proof,
    )
    from ledger.log.proofs import (
        get_entry as get_entry,
    )
    from ledger.log.proofs import (
        inclusion_proof as inclusion_proof,
    )
    from ledger.log.proofs import (
        leaf_hashes as leaf_hashes,
    )
    from ledger.log.proofs import (
        ledger_size as ledger_size,
    )
    from ledger.log.proofs import (
        tree_root as tree_root,
    )
    from ledger.log.sequencer import (
        NO_ADMISSION as NO_ADMISSION,
    )
    from ledger.log.sequencer import (
        Admission as Admission,
    )
    from ledger.log.sequencer import (
        Ledger as Ledger,
    )
    from ledger.log.sequencer import (
        append as append,
    )
    from ledger.log.sequencer import (
        await_checkpoint as await_checkpoint,
    )
    from ledger.log.sequencer import (
        checkpoint_due_in as checkpoint_due_in,
    )
    from ledger.log.sequencer import (
        checkpoint_size as checkpoint_size,
    )
    from ledger.log.sequencer import (
        covering_checkpoint as covering_checkpoint,
    )
    from ledger.log.sequencer import (
        ensure_checkpoint as ensure_checkpoint,
    )
    from ledger.log.sequencer import (
        initialise as initialise,
    )
    from ledger.log.sequencer import (
        keep_checkpoints as keep_checkpoints,
    )
    from ledger.log.sequencer import (
        latest_checkpoint as latest_checkpoint,
    )
    from ledger.log.sequencer import (
        replay as replay,
    )
    from ledger.log.sequencer import (
        rfc3339 as rfc3339,
    )

# Re-exported lazily, so that importing a pure module (``ledger.log.merkle``, say) does not
# pull in SQLAlchemy through this package's __init__.
_HOME = {
    **dict.fromkeys(["ConsistencyProof", "InclusionProof", "consistency_proof", "get_entry",
                     "inclusion_proof", "leaf_hashes", "ledger_size", "tree_root"],
                    "ledger.log.proofs"),
    **dict.fromkeys(["NO_ADMISSION", "Admission", "Ledger", "append", "await_checkpoint",
                     "checkpoint_due_in", "checkpoint_size", "covering_checkpoint",
                     "ensure_checkpoint", "initialise", "keep_checkpoints",
                     "latest_checkpoint", "replay", "rfc3339"],
                    "ledger.log.sequencer"),
}

__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'ledger.log' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)
