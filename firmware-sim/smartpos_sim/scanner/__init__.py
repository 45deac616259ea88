"""A simulated serial barcode scanner: codes typed on its control port arrive on a pseudo-terminal.

``cli`` is the ``smartpos-sim scanner`` subcommand.
"""
