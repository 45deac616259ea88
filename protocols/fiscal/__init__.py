"""Fiscal device protocols (Datecs X, Datecs C, Tremol ZFP): sans-I/O framing and messages."""
