"""The backend stage(s) of the pipeline (see DESIGN.md)."""
