"""A local Scaleway API simulator (Block + Instance) for tests and the demo.

``with Simulator(s3_endpoint=url, speed=50) as sim: client = sim.client()``; see
docs/lab-scaleway-simulator.md.
"""

from .errors import ApiError
from .faults import Faults
from .hosts import Host
from .server import Simulator
from .store import Account, BootInfo, Clock, Timings

__all__ = ["Account", "ApiError", "BootInfo", "Clock", "Faults", "Host", "Simulator", "Timings"]
