"""`ionsim serve`: uvicorn on a socket we bind ourselves, so `--port 0` can print the real port.

The ready line is printed only once uvicorn has started and the socket accepts connections.
uvicorn handles SIGINT/SIGTERM: it stops accepting, finishes requests in flight, then exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import Iterator
from dataclasses import replace

from simulator.config import Config, load_config


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        from simulator.errors import ConfigError

        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def config_from_args(args: argparse.Namespace) -> Config:
    config = load_config(
        args.config,
        host=args.host,
        port=args.port,
        tenants=args.tenants,
        seed=args.seed,
        data_dir=args.data_dir,
        public_url=args.public_url,
        random_credentials=args.random_credentials,
        token_lifetime=args.token_lifetime,
        aliases=args.aliases,
        access_log=args.access_log,
        admin_token=getattr(args, "admin_token", None),
        cors_origins=getattr(args, "cors_origins", None),
        fault_header=getattr(args, "fault_header", None),
        faults=getattr(args, "faults", None),
    )
    if args.subscribe:
        extra = dict(config.extra)
        extra["subscriptions"] = [
            *(extra.get("subscriptions") or []),
            *({"url": url} for url in args.subscribe),
        ]
        config = replace(config, extra=extra)
    return config


def _server_class(ready: str) -> type:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn, with two changes.

        The ready line is printed from `startup`, once the socket accepts connections, so the
        server still runs through `Server.run` (which picks uvloop: with the plain asyncio loop a
        response's two writes met delayed ACKs and capped the rate at ~700/s).

        uvicorn re-raises SIGTERM/SIGINT after a graceful stop, so the process would die by the
        signal (exit -15/130); a clean shutdown should exit 0, which CI scripts expect.
        """

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                print(ready, flush=True)

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            loop = asyncio.get_running_loop()
            sigs = (signal.SIGINT, signal.SIGTERM)
            for sig in sigs:
                loop.add_signal_handler(sig, self.handle_exit, sig, None)
            try:
                yield
            finally:
                for sig in sigs:
                    loop.remove_signal_handler(sig)

    return Server


def serve(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    import uvicorn

    from simulator.app import create_app

    app = create_app(config)
    sock = bind(config.host, config.port)
    host, port = sock.getsockname()[:2]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{shown}:{port}"
    app.state.sim.base_url = config.public_url or url
    server = _server_class(f"ionsim ready on {url}")(
        uvicorn.Config(
            app,
            log_level="info" if config.access_log else "warning",
            access_log=config.access_log,
            lifespan="on",
            ws="none",
            server_header=False,
        )
    )

    server.run(sockets=[sock])
    sys.stdout.flush()
    return 0 if server.started else 1
