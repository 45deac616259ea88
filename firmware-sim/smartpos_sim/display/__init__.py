"""A simulated customer (pole) display on a serial line: Epson DM-D or CD5220 command sets.

``screen`` is the character grid with its cursor, ``parser`` frames the byte stream into
operations on it (sans-I/O), and ``cli`` is the ``smartpos-sim display`` subcommand: the parser
behind a pseudo-terminal, plus a control port that shows what the customer sees.
"""
