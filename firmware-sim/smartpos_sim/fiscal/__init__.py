"""``smartpos-sim fiscal``: a fiscal printer (Datecs X, Datecs C or Tremol ZFP) as a process.

``model`` holds the fiscal memory's records and parameter parsing; ``engine`` is the
protocol-independent fiscal memory (receipts, totals, reports, cash); ``x_device``,
``c_device`` and ``tremol_device`` map each protocol's commands onto it; ``link`` holds the
wire rules every protocol shares (one command at a time, SEQ repeats, NAK, busy bytes,
faults); ``cli`` wires them to a pty or TCP and serves the fault and inspection port.
"""
