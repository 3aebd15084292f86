"""A stateful local stand-in for the platform APIs: same paths, same JSON, scripted faults.

`SimulatorThread` serves it on 127.0.0.1 for tests; `run()` serves it for the demo.
"""

from connectors.simulator.app import create_app
from connectors.simulator.faults import Fault
from connectors.simulator.server import (
    DEMO_PAGE_ID,
    DEMO_PAGE_TOKEN,
    SimulatorThread,
    demo_state,
    run,
)
from connectors.simulator.state import SimState

__all__ = ["DEMO_PAGE_ID", "DEMO_PAGE_TOKEN", "Fault", "SimState", "SimulatorThread",
           "create_app", "demo_state", "run"]
