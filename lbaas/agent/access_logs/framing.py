"""RFC 6587 octet counting: the framing of haproxy's log stream to its agent.

haproxy's ``ring`` forwards every message as ``<length> <message>`` (``log-proto
octet-count``) over one stream connection, so a message may hold any byte, newlines included:
nothing a client sends can end a message early or start another. :class:`OctetCountDecoder`
cuts the bytes one connection delivered, in whatever chunks they came, back into messages.

Pure: no I/O. Used by :mod:`.receiver`, one decoder per connection.
"""

from __future__ import annotations

MAX_MESSAGE = 65536
"""Longest message accepted (haproxy's ``maxlen`` is far below)."""
_MAX_DIGITS = len(str(MAX_MESSAGE))


class FramingError(ValueError):
    """The stream is not octet-counted (or a length is out of range): it cannot be resynced."""


class OctetCountDecoder:
    """Messages out of a stream of ``<length> <message>`` frames."""

    def __init__(self) -> None:
        self._buffer = b""

    @property
    def pending(self) -> int:
        """Bytes received that do not make a whole message yet."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes]:
        """The whole messages completed by ``data``, in order; what is left of an incomplete
        one waits for the next call. Raises :class:`FramingError` on anything but a frame."""
        buffer = self._buffer + data if self._buffer else data
        messages: list[bytes] = []
        start, size = 0, len(buffer)
        while start < size:
            space = buffer.find(b" ", start, start + _MAX_DIGITS + 1)
            if space < 0:
                if size - start > _MAX_DIGITS or not buffer[start:].isdigit():
                    raise FramingError(f"no frame length in {buffer[start:start + 16]!r}")
                break  # the length itself is cut
            digits = buffer[start:space]
            if not digits.isdigit() or digits.startswith(b"0"):
                raise FramingError(f"bad frame length {digits[:16]!r}")
            length = int(digits)
            if length > MAX_MESSAGE:
                raise FramingError(f"frame of {length} bytes (at most {MAX_MESSAGE})")
            end = space + 1 + length
            if end > size:
                break
            messages.append(buffer[space + 1:end])
            start = end
        self._buffer = buffer[start:]
        return messages
