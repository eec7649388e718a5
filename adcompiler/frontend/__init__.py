"""The frontend stage(s) of the pipeline (see DESIGN.md)."""
