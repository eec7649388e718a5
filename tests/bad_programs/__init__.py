"""Programs a user might write that adcompiler must refuse or handle.

See tests/test_bad_programs.py.
"""
