"""Tests of the fund emulator (tfoms_emulator), which imports no module of the portal."""
