"""Receipt signing formats of signing services and security devices, pure and sans-I/O.

``rksv`` holds the Austrian machine-readable code (Registrierkassensicherheitsverordnung):
the code, the encrypted turnover counter, the chain value and the ES256 JWS.
``rksv_cashbox`` is the cashbox's state machine around it (start, month and year receipts,
training, storno, the failed security device) and ``rksv_verify`` checks a chain of receipts
the way the BMF's test tool does.
"""
