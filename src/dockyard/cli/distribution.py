"""Registry commands: pull, push, login, logout."""

from __future__ import annotations

import sys

import click

from dockyard.cli.common import get_store


@click.command("pull")
@click.argument("name")
@click.option("-a", "--all-tags", is_flag=True, help="Download all tagged images.")
@click.option("--platform", help="Set platform if server is multi-platform capable (os/arch).")
@click.option("-q", "--quiet", is_flag=True, help="Suppress verbose output.")
@click.pass_context
def pull(ctx: click.Context, name: str, all_tags: bool, platform: str | None, quiet: bool) -> None:
    """Download an image from a registry."""
    from dockyard.engine.progress import ProgressOutput
    from dockyard.engine.pull import pull_image

    out = ProgressOutput(quiet=quiet)
    click.echo(pull_image(get_store(ctx), name, platform, all_tags, out))


@click.command("push")
@click.argument("name")
@click.option("-a", "--all-tags", is_flag=True, help="Push all tags of an image to the repository.")
@click.option("-q", "--quiet", is_flag=True, help="Suppress verbose output.")
@click.pass_context
def push(ctx: click.Context, name: str, all_tags: bool, quiet: bool) -> None:
    """Upload an image to a registry."""
    from dockyard.engine.progress import ProgressOutput
    from dockyard.engine.push import push_image

    out = ProgressOutput(quiet=quiet)
    pushed = push_image(get_store(ctx), name, all_tags, out)
    if quiet:
        click.echo(pushed)


@click.command("login")
@click.argument("server", required=False)
@click.option("-u", "--username", help="Username.")
@click.option("-p", "--password", help="Password.")
@click.option("--password-stdin", is_flag=True, help="Take the password from stdin.")
def login(
    server: str | None, username: str | None, password: str | None, password_stdin: bool
) -> None:
    """Log in to a registry (credentials go to docker's config.json)."""
    from dockyard.engine.credentials import login as do_login
    from dockyard.errors import AuthenticationFailed, RegistryError

    if password is not None:
        click.echo("WARNING! Using --password via the CLI is insecure. Use --password-stdin.",
                   err=True)
        if password_stdin:
            raise click.UsageError("--password and --password-stdin are mutually exclusive")
    if password_stdin:
        if not username:
            raise click.UsageError("Must provide --username with --password-stdin")
        password = sys.stdin.read().rstrip("\r\n")
    if not username:
        username = click.prompt("Username")
    if password is None:
        password = click.prompt("Password", hide_input=True)
    try:
        plain_file = do_login(server, str(username), password)
    except (AuthenticationFailed, RegistryError) as exc:
        click.echo(f"Error response from daemon: {exc}", err=True)
        raise click.exceptions.Exit(1) from exc
    if plain_file is not None:
        click.echo(
            f"WARNING! Your password will be stored unencrypted in {plain_file}.\n"
            "Configure a credential helper to remove this warning. See\n"
            "https://docs.docker.com/engine/reference/commandline/login/#credentials-store\n",
            err=True,
        )
    click.echo("Login Succeeded")


@click.command("logout")
@click.argument("server", required=False)
def logout(server: str | None) -> None:
    """Log out from a registry."""
    from dockyard.engine.credentials import logout as do_logout

    click.echo(do_logout(server))
