"""A person's taste: answers stored locally, a preference model learned from them, and generation steered by it."""
