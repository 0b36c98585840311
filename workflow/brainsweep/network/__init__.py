"""The network contract every layer above shares: the delay rule and the shard plan.

It sits below the targets: the oracle, the planner and every target's layout use
:func:`delay_steps`, and the GPU targets lay a shard out from its :class:`ShardPlan`.
"""

from brainsweep.network.delays import delay_horizon, delay_steps, delay_tables
from brainsweep.network.plan import ShardPlan, plan_shard, speed_order

__all__ = ["ShardPlan", "delay_horizon", "delay_steps", "delay_tables", "plan_shard",
           "speed_order"]
