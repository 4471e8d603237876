"""Data-contract rules run by the serdes: conditions, transforms, encryption, migrations.

Names and semantics follow confluent-kafka's ``schema_registry.rules``; see
:mod:`serde.rules.execution` for when a rule runs and what its actions do.
"""

from .core import (
    FieldContext,
    FieldRuleExecutor,
    FieldTransform,
    FieldType,
    RuleAction,
    RuleConditionError,
    RuleContext,
    RuleError,
    RuleExecutor,
)
from .execution import RulePhase, RuleRunner
from .registry import RuleOverride, RuleRegistry

__all__ = [
    "FieldContext", "FieldRuleExecutor", "FieldTransform", "FieldType", "RuleAction", "RuleConditionError",
    "RuleContext", "RuleError", "RuleExecutor", "RuleOverride", "RulePhase", "RuleRegistry", "RuleRunner",
]
