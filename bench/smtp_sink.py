"""The benchmarks' SMTP sink: aiosmtpd in a process of its own, as a deployment's mail server
is, so the deliverer measured and the plain smtplib floor share no interpreter lock with it
(in the benchmark's own process the sink's Python competed with whatever the client did
between replies). Prints how many messages it accepted when stopped with SIGINT.

    python -m aiosmtpd -n -l 127.0.0.1:PORT -c smtp_sink.CountingSink   (bench/ on PYTHONPATH)
    python -m aiosmtpd -n -l 127.0.0.1:PORT -c smtp_sink.PipeliningSink
"""

from __future__ import annotations

import atexit


class CountingSink:
    accepted = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        CountingSink.accepted += 1
        return "250 OK"


atexit.register(lambda: print(CountingSink.accepted, flush=True))


class PipeliningSink(CountingSink):
    """The same sink offering PIPELINING (RFC 2920), as Postfix, Exim and Exchange do."""

    async def handle_EHLO(self, server, session, envelope, hostname, responses):  # noqa: N802
        session.host_name = hostname  # what aiosmtpd leaves to a handler with this hook
        responses.insert(-1, "250-PIPELINING")
        return responses
