"""`hello-ocifs [--name NAME]`: greets, and says what it runs on."""

import platform

import click

from hello import __version__


@click.command()
@click.option("--name", default="world", help="Who to greet.")
def main(name: str) -> None:
    click.echo(f"Hello, {name}! (hello-ocifs {__version__}, click {click.__version__}, "
               f"Python {platform.python_version()})")
