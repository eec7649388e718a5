"""Analyses over the normalized function: activity and symbolic shapes."""
