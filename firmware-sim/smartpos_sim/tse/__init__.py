"""A simulated German TSE (a fiskaly SIGN DE v2-style cloud TSS): ``smartpos-sim tse``."""
