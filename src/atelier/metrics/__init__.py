"""Sample-quality metrics: ``images`` (digit-classifier feature space)."""
