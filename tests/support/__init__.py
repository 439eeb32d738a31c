"""Test support: the local AWS emulator harness."""
