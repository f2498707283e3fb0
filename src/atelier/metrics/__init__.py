"""Sample-quality metrics: ``images`` (digit-classifier or EfficientNet-Lite0 feature space)."""
