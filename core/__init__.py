"""Glassbox core: torch and numpy code only. Nothing in this package imports gradio."""
