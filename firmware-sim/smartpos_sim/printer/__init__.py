"""A simulated ESC/POS network printer: the device side, independent of our own encoder.

``parser`` frames the byte stream into actions, ``paper`` models what they print, ``engine``
runs the print queue with paper speed and faults, ``server`` and ``control`` are its TCP ports
and ``cli`` is the ``smartpos-sim printer`` subcommand.
"""
