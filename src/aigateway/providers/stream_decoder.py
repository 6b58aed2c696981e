"""What every translating stream decoder shares, whatever its upstream's wire.

Invariants (spec §5.2), kept here once:
- one `message_start`, before any other event, carrying the gateway's count of the prompt
  (upstreams report usage only at the end): `_start()` gives it the first time, nothing after;
- a stream that fails ends with one `StreamError`, after the `message_start` if none was sent
  yet, keeping whatever usage the upstream had reported (`_fail_with`); nothing follows it.
`SSEStream` adds the framing of the upstreams that stream server-sent events: each `data:`
payload goes to the decoder's `_payload` until the stream ends, and `finish` ends the message
(`_end`) unless it ended already.
"""

from __future__ import annotations

import abc

from aigateway.ir.events import Event, MessageStart, StreamError
from aigateway.ir.messages import Message
from aigateway.ir.usage import Usage
from aigateway.ir.wire_usage import wire_usage
from aigateway.wire.sse import SSEDecoder

Output = Event | StreamError


class TranslatedStream:
    def __init__(self, *, provider: str, message_id: str, model: str, input_tokens: int) -> None:
        self._provider = provider
        self._id, self._model, self._input_tokens = message_id, model, input_tokens
        self._started = False
        self._ended = False
        self.error: StreamError | None = None
        self.usage: Usage | None = None  # the upstream's, once known
        self.stop_reason: str | None = None

    def _start(self) -> list[Output]:
        """[message_start] the first time, [] after."""
        if self._started:
            return []
        self._started = True
        usage = wire_usage(Usage(input_tokens=self._input_tokens))
        message = Message(id=self._id, model=self._model, content=[], stop_reason=None, usage=usage)
        return [MessageStart(message=message)]

    def _fail_with(self, error_type: str, message: str, usage: Usage | None) -> list[Output]:
        """Ends the stream with one error; `usage` is what the upstream reported before it, if anything."""
        self._ended = True
        if usage is not None:
            self.usage = usage
        self.error = StreamError(error_type=error_type, message=message)
        return [*self._start(), self.error]


class SSEStream(TranslatedStream, abc.ABC):
    def __init__(self, *, provider: str, message_id: str, model: str, input_tokens: int) -> None:
        super().__init__(provider=provider, message_id=message_id, model=model, input_tokens=input_tokens)
        self._sse = SSEDecoder()

    def feed(self, chunk: bytes) -> list[Output]:
        _, events = self._sse.feed(chunk)
        return self._handle([e.data for e in events])

    def finish(self) -> list[Output]:
        _, events = self._sse.finish()
        out = self._handle([e.data for e in events])
        return out if self._ended else out + self._end()

    def _handle(self, payloads: list[str]) -> list[Output]:
        out: list[Output] = []
        for data in payloads:
            if self._ended:
                break
            out += self._payload(data)
        return out

    @abc.abstractmethod
    def _payload(self, data: str) -> list[Output]:
        """The events of one `data:` payload."""

    @abc.abstractmethod
    def _end(self) -> list[Output]:
        """The last events of a stream the upstream closed, when nothing ended it before."""
