"""The stages every envelope passes, in order (see sequence.py)."""
