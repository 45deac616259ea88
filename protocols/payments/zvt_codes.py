"""ZVT code tables: result codes (BMP ``27``, ``06 1E``) and intermediate status codes (``04 FF``).

Meanings from ZVT PA00P015 chapter "Error-messages" and "Intermediate status", as listed by the
open-source implementations Portalum/Portalum.Zvt (EnglishErrorMessageRepository.cs,
EnglishIntermediateStatusRepository.cs) and kaplanerkan/kotlin-zvt-library (ZvtConstants.kt).
Result codes 01..63 are passed through from the network operator / authorisation host (the
ISO 8583 response codes of the card's scheme), so only their range is known here.
"""

from __future__ import annotations

from typing import Final

APPROVED: Final = 0x00
ABORTED_BY_TIMEOUT_OR_KEY: Final = 0x6C
FUNCTION_NOT_POSSIBLE: Final = 0x83
PROTOCOL_ERROR: Final = 0x9A
ALREADY_REVERSED: Final = 0xB4
REVERSAL_NOT_POSSIBLE: Final = 0xB5
SYSTEM_ERROR: Final = 0xFF

RESULT_MESSAGES: Final[dict[int, str]] = {
    0x00: "approved",
    0x64: "card not readable (LRC/parity error)",
    0x65: "card data not present",
    0x66: "processing error (card reader)",
    0x67: "function not permitted for ec and Maestro cards",
    0x68: "function not permitted for credit and tank cards",
    0x6A: "turnover file full",
    0x6B: "function deactivated (terminal not registered)",
    0x6C: "aborted (timeout or abort key)",
    0x6E: "card in blocked list",
    0x6F: "wrong currency",
    0x71: "credit not sufficient (chip)",
    0x72: "chip error",
    0x73: "card data incorrect",
    0x74: "DUKPT engine exhausted",
    0x75: "text not authentic",
    0x76: "PAN not in white list",
    0x77: "end-of-day batch not possible",
    0x78: "card expired",
    0x79: "card not yet valid",
    0x7A: "card unknown",
    0x7B: "fallback to magnetic stripe not possible (girocard)",
    0x7C: "fallback to magnetic stripe not possible",
    0x7D: "communication error",
    0x7E: "fallback not possible, debit advice possible",
    0x83: "function not possible",
    0x85: "key missing",
    0x89: "PIN pad defective",
    0x9A: "ZVT protocol error",
    0x9B: "error from dial-up / communication fault",
    0x9C: "please wait",
    0xA0: "receiver not ready",
    0xA1: "remote station does not respond",
    0xA3: "no connection",
    0xA4: "submission of Geldkarte not possible",
    0xA5: "function not allowed due to PCI-DSS/P2PE rules",
    0xB1: "memory full",
    0xB2: "merchant journal full",
    0xB4: "already reversed",
    0xB5: "reversal not possible",
    0xB7: "pre-authorisation incorrect (amount too high)",
    0xB8: "error pre-authorisation",
    0xBF: "voltage supply too low",
    0xC0: "card locking mechanism defective",
    0xC1: "merchant card locked",
    0xC2: "diagnosis required",
    0xC3: "maximum amount exceeded",
    0xC4: "card profile invalid",
    0xC5: "payment method not supported",
    0xC6: "currency not applicable",
    0xC8: "amount too small",
    0xC9: "maximum transaction amount too small",
    0xCB: "function only allowed in EURO",
    0xCC: "printer not ready",
    0xCD: "cashback not possible",
    0xD2: "function not permitted for service cards",
    0xDC: "card inserted",
    0xDD: "error during card eject",
    0xDE: "error during card insertion",
    0xE0: "remote maintenance activated",
    0xE2: "card reader does not answer / defective",
    0xE3: "shutter closed",
    0xE4: "terminal activation required",
    0xE7: "goods group not found",
    0xE8: "no goods groups table loaded",
    0xE9: "restriction code not permitted",
    0xEA: "card code not permitted",
    0xEB: "function not executable (PIN algorithm unknown)",
    0xEC: "PIN processing not possible",
    0xED: "PIN pad defective",
    0xF0: "open end-of-day batch present",
    0xF1: "ec-cash/Maestro offline error",
    0xF5: "OPT error",
    0xF6: "OPT data not available",
    0xFA: "error transmitting offline transactions",
    0xFB: "turnover data set defective",
    0xFC: "necessary device not present or defective",
    0xFD: "baud rate not supported",
    0xFE: "register unknown",
    0xFF: "system error",
}


def result_message(code: int) -> str:
    """What result code ``code`` means, for the cashier and the log."""
    if code in RESULT_MESSAGES:
        return RESULT_MESSAGES[code]
    if 0x01 <= code <= 0x63:
        return f"declined by the authorisation host (code {code:02d})"
    return f"unknown result code {code:02X}"


# Intermediate status codes. The wording is shortened for a POS screen: "enter PIN" stands for
# the specification's "please watch PIN-pad" (the terminal asks the card holder for the PIN).
INTERMEDIATE_TEXTS: Final[dict[int, str]] = {
    0x00: "waiting for amount confirmation",
    0x01: "enter PIN",
    0x02: "enter PIN",
    0x03: "not accepted",
    0x04: "waiting for the host",
    0x05: "sending auto-reversal",
    0x06: "sending post-bookings",
    0x07: "card not admitted",
    0x08: "card unknown",
    0x09: "card expired",
    0x0A: "insert card",
    0x0B: "remove card",
    0x0C: "card not readable",
    0x0D: "processing error",
    0x0E: "please wait",
    0x0F: "automatic end-of-day batch",
    0x10: "invalid card",
    0x11: "balance display",
    0x12: "system malfunction",
    0x13: "payment not possible",
    0x14: "credit not sufficient",
    0x15: "incorrect PIN",
    0x16: "limit not sufficient",
    0x17: "please wait",
    0x18: "PIN try limit exceeded",
    0x19: "card data incorrect",
    0x1A: "service mode",
    0x1B: "approved, please fill up",
    0x1C: "approved, please take goods",
    0x1D: "declined",
    0x28: "currency selection, please wait",
    0x29: "language selection, please wait",
    0x2A: "for loading please insert card",
    0x2B: "emergency transaction, please wait",
    0x2C: "application selection, please wait",
    0x4B: "remove card",
    0x68: "card inserted",
    0x69: "please select DCC",
    0xC8: "waiting for the cashier",
    0xC9: "automatic diagnosis",
    0xCA: "automatic initialisation",
    0xD2: "dialling up",
    0xD3: "dial-up connection made",
    0xE0: "waiting for application selection",
    0xE1: "waiting for language selection",
    0xF1: "offline",
    0xF2: "online",
    0xF3: "offline transaction",
}


def intermediate_text(code: int) -> str:
    """The screen text of intermediate status ``code``."""
    if code in INTERMEDIATE_TEXTS:
        return INTERMEDIATE_TEXTS[code]
    if 0x41 <= code <= 0x67 and code - 0x40 in INTERMEDIATE_TEXTS:
        # 41..67 are 01..27 with "please remove card" added.
        return f"{INTERMEDIATE_TEXTS[code - 0x40]}, remove card"
    return f"terminal status {code:02X}"


def terminal_status_message(code: int) -> str:
    """The terminal status code of a status enquiry's completion: 00 is "ready"."""
    return "ready" if code == 0 else result_message(code)
