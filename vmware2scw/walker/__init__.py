"""The walker: applies a plan over its dependency graph in parallel (DESIGN §7).

``walk(plan, state_manager, providers, options) -> WalkResult``; see core.py for the
invariants, nodes.py for how a plan becomes a graph of operations.
"""

from vmware2scw.walker.core import walk
from vmware2scw.walker.executor import Executor, LocalExecutor, ProviderCall
from vmware2scw.walker.model import Outcome, StateSink, WalkOptions, WalkResult
from vmware2scw.walker.nodes import CLEANUP_PENDING

__all__ = ["CLEANUP_PENDING", "Executor", "LocalExecutor", "Outcome", "ProviderCall",
           "StateSink", "WalkOptions", "WalkResult", "walk"]
