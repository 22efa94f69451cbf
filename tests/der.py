"""Hand-built DER for key-upload tests: malformed and non-canonical encodings that no library
would produce on purpose."""

from __future__ import annotations


def tlv(tag: int, content: bytes) -> bytes:
    """One DER element with a minimal (definite) length."""
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def seq(*parts: bytes) -> bytes:
    return tlv(0x30, b"".join(parts))


def der_int(value: int) -> bytes:
    return tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def bit_string(data: bytes) -> bytes:
    return tlv(0x03, b"\x00" + data)
