"""The transform stage(s) of the pipeline (see DESIGN.md)."""
