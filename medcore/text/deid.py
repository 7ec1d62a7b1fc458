"""Identifier masking moved to ``medcore.core.deid`` (every capability masks text, and capabilities
import only ``core``). This name stays because model cards and users cite it."""

from medcore.core.deid import NUMBER_PATTERNS, PATTERNS, mask_identifiers, mask_keeping_numbers

__all__ = ["mask_identifiers", "mask_keeping_numbers", "NUMBER_PATTERNS", "PATTERNS"]
