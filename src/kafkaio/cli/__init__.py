"""``kafkaio``: a kcat-like command-line tool over the asyncio clients.

Run ``python -m kafkaio.cli --help`` (or the ``kafkaio`` console script). Commands:
``produce`` (records from stdin), ``consume`` (records to stdout: kcat-style ``--format``
or ``--json``), ``topics``, ``groups``, ``cluster describe`` and ``metadata``. The modules:
:mod:`~kafkaio.cli.parser` (arguments), :mod:`~kafkaio.cli.options` (``-b``/``-X``),
:mod:`~kafkaio.cli.formatting` (tables, JSON, record formats), :mod:`~kafkaio.cli.runtime`
(signals, errors, exit codes), one module per command group.
"""

from kafkaio.cli.main import main

__all__ = ["main"]
