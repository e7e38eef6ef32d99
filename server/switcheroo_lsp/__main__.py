"""``switcheroo-lsp`` / ``python -m switcheroo_lsp``: start the language server.

stdio by default (what editors expect); ``--tcp HOST:PORT`` for clients that connect to a socket.
Nothing but LSP messages ever goes to stdout; logs go to stderr or ``--log-file``.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Sequence

from . import __version__


def parse_address(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (or just ``PORT``, on 127.0.0.1) for ``--tcp``."""
    host, sep, port = value.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", value
    try:
        number = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}") from None
    if not 0 < number < 65536:
        raise argparse.ArgumentTypeError(f"port must be 1-65535, got {number}")
    return host.strip("[]") or "127.0.0.1", number


def build_parser() -> argparse.ArgumentParser:
    """The command line of the server."""
    parser = argparse.ArgumentParser(
        prog="switcheroo-lsp",
        description="Language server that migrates PyTorch load_state_dict calls to JAX/Flax.",
    )
    parser.add_argument("--version", action="version", version=f"switcheroo-lsp {__version__}")
    transport = parser.add_mutually_exclusive_group()
    transport.add_argument(
        "--stdio", action="store_true", help="talk LSP over stdin/stdout (the default)"
    )
    transport.add_argument(
        "--tcp", metavar="HOST:PORT", type=parse_address, help="listen on a TCP socket instead"
    )
    parser.add_argument("--log-file", metavar="PATH", help="write the server's log here")
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level (default: WARNING)",
    )
    return parser


class OneLineErrors(logging.Filter):
    """pygls logs a client's unreadable message with a full traceback (as exc_info or in the
    message): below DEBUG, the user's log gets one clear line instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            record.msg, record.args = (
                f"{record.getMessage()} ({type(error).__name__}: {error})",
                None,
            )
            record.exc_info, record.exc_text = None, None
        elif "Traceback (most recent call last)" in (message := record.getMessage()):
            errors = re.findall(r"\b([A-Za-z_][\w.]*(?:Error|Exception)\b.*)", message)
            summary = errors[-1].strip() if errors else message.strip().splitlines()[-1]
            record.msg, record.args = f"{message.splitlines()[0]} ({summary})", None
        return True


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``switcheroo-lsp`` console script."""
    args = build_parser().parse_args(argv)
    handler: logging.Handler
    if args.log_file:
        handler = logging.FileHandler(args.log_file, encoding="utf-8")
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    if args.log_level != "DEBUG":
        handler.addFilter(OneLineErrors())
    logging.basicConfig(level=args.log_level, handlers=[handler], force=True)

    from .lsp.server import create_server

    server = create_server()
    if args.tcp:
        host, port = args.tcp
        server.start_tcp(host, port)
    else:
        server.start_io()
    return 0


if __name__ == "__main__":
    sys.exit(main())
