"""`exchange bench NAME`: the performance harness in bench/ (fetch, bulk, log, profile, all).

The harness needs the development extra (psutil, pyinstrument), which a production install does not have,
so it is imported only when `exchange bench` runs: `exchange --help` and `exchange serve` never load it.
"""

from __future__ import annotations

import click

from exchange import i18n


class _Benchmarks(click.Group):
    """The `bench` group of bench/cli.py, loaded on first use."""

    def _real(self) -> click.Group:
        try:
            from bench.cli import bench
        except ModuleNotFoundError as missing:
            said = i18n.tr(
                "cli.bench.missing",
                "the benchmarks need the development extra ({module} is not installed): "
                "pip install 'exchange-gateway[dev]', or run them from a checkout with `make bench`",
                module=missing.name,
            )
            raise click.ClickException(said) from None
        return bench

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._real().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = self._real().get_command(ctx, name)
        if command is not None and command.help and not command.short_help:
            # The whole first paragraph in `exchange bench --help`, not click's 45 characters and '...'.
            command.short_help = " ".join(command.help.strip().split("\n\n", 1)[0].split())
        return command

    def invoke(self, ctx: click.Context) -> object:
        real = self._real()
        assert real.callback is not None
        ctx.invoke(real.callback, **ctx.params)
        return super().invoke(ctx)


bench = _Benchmarks(
    "bench",
    help="Benchmarks against a ceiling measured in the same run; JSON lands in bench/results/.",
    params=[
        click.Option(
            ["--results-dir"],
            envvar="BENCH_RESULTS_DIR",
            default=None,
            help="Write results here, not in bench/results/.",
        )
    ],
)

__all__ = ["bench"]
