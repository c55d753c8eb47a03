"""The demo supply network and its loader: data for a fresh install, the tests and the
benchmarks. Only the CLI (and tests and benchmarks) import it; the domain never does."""

from ledger.demo.load import (
    DemoRecallSummary,
    DemoSummary,
    DemoUser,
    MelamineIncident,
    create_demo_users,
    demo_loaded,
    load_demo,
)
from ledger.demo.network import (
    DEFAULT_SEED,
    DEMO_DAYS,
    DEMO_PASSWORD,
    DEMO_START,
    DEMO_USERS,
    MELAMINE_FOUND,
    MELAMINE_LIMIT,
    DemoAlreadyLoaded,
    DemoEnterprise,
    DemoPlan,
    DemoProgress,
    DemoRecall,
    demo_enterprises,
    plan_demo,
)

__all__ = [
    "DEFAULT_SEED",
    "DEMO_DAYS",
    "DEMO_PASSWORD",
    "DEMO_START",
    "DEMO_USERS",
    "MELAMINE_FOUND",
    "MELAMINE_LIMIT",
    "DemoAlreadyLoaded",
    "DemoEnterprise",
    "DemoPlan",
    "DemoProgress",
    "DemoRecall",
    "DemoRecallSummary",
    "DemoSummary",
    "DemoUser",
    "MelamineIncident",
    "create_demo_users",
    "demo_enterprises",
    "demo_loaded",
    "load_demo",
    "plan_demo",
]
