"""Atelier."""
