"""The `promptify` command (docs/operations.md, "Command line"): thin wrappers over the services
that print results on stdout and messages on stderr, not chatter."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from typing import TextIO

import click
from flask import Flask, current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext

from promptify import clock, create_app
from promptify.config import current_policy
from promptify.identity.keys import KeyRejected
from promptify.models import Operator, Role, Workspace
from promptify.services import keys as keys_service
from promptify.services import mail as mail_service
from promptify.services import operators, workspaces
from promptify.services.audit import Actor
from promptify.services.workspaces import InvalidOrigin


@click.group(cls=FlaskGroup, create_app=create_app)
def cli() -> None:
    """Promptify: a self-hosted support messenger."""


def register_commands(app: Flask) -> None:
    """Attach the commands to `app.cli`, so `promptify` and `app.test_cli_runner()` both see them."""
    for command in (workspace, operator, keys, demo, purge, mail, backup, restore, doctor):
        app.cli.add_command(command)
    app.cli.add_command(_db_group(), "db")


def cli_actor() -> Actor:
    """Who the audit log names for a command: `cli:<login name>`, with no address."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        user = "unknown"
    return Actor(operator_id=None, label=f"cli:{user}")


def _workspace_or_exit(app_id: str) -> Workspace:
    workspace = workspaces.find_workspace(app_id)
    if workspace is None:
        raise click.ClickException(f"no workspace with app id {app_id}")
    return workspace


@click.group(cls=AppGroup)
def workspace() -> None:
    """Create workspaces and switch signed identification on or off."""


@workspace.command("create")
@click.argument("name")
@click.option(
    "--origin", "origins", multiple=True, help="Allowed origin, e.g. https://app.example.com"
)
def workspace_create(name: str, origins: tuple[str, ...]) -> None:
    """Create a workspace and print its app id alone on stdout."""
    try:
        created = workspaces.create_workspace(name, list(origins), now=clock.now())
    except InvalidOrigin as error:
        raise click.ClickException(str(error)) from None
    click.echo(created.app_id)


@workspace.command("require-jwt")
@click.argument("app_id")
@click.argument("state", type=click.Choice(["on", "off"]))
def workspace_require_jwt(app_id: str, state: str) -> None:
    """Require signed identification (on) or allow unsigned setUser calls (off)."""
    ended = workspaces.set_require_jwt(
        _workspace_or_exit(app_id), state == "on", now=clock.now(), actor=cli_actor()
    )
    click.echo(f"signed identification {'required' if state == 'on' else 'optional'}", err=True)
    if state == "on":
        click.echo(f"ended {ended} unverified session(s) of identified users", err=True)


@click.group(cls=AppGroup)
def operator() -> None:
    """Console logins."""


def _new_password() -> str:
    password = os.environ.get("PROMPTIFY_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    try:
        operators.check_new_password(password)
    except operators.ProfileRejected as error:
        raise click.ClickException(str(error)) from None
    return password


def _operator_or_exit(email: str) -> Operator:
    found = operators.find_by_email(email)
    if found is None:
        raise click.ClickException(f"no operator with the email {email.strip().lower()}")
    return found


ROLE_CHOICE = click.Choice([r.value for r in Role])


@operator.command("create")
@click.argument("email")
@click.option("--role", type=ROLE_CHOICE, default=Role.AGENT.value, show_default=True)
@click.option("--name", default="", help="Display name (default: the email's local part).")
def operator_create(email: str, role: str, name: str) -> None:
    """Create an operator (password from PROMPTIFY_PASSWORD or a prompt); an email that exists
    is refused: change existing operators with the commands below."""
    if operators.find_by_email(email) is not None:
        raise click.ClickException(
            f"an operator with the email {email.strip().lower()} exists; use `promptify operator "
            "reset-password`, `set-role`, `disable` or `enable`"
        )
    password = _new_password()
    try:
        created = operators.create_operator(
            email, name, role, password, now=clock.now(), actor=cli_actor()
        )
    except operators.OperatorRuleBroken as error:
        raise click.ClickException(str(error)) from None
    click.echo(created.email)


@operator.command("reset-password")
@click.argument("email")
def operator_reset_password(email: str) -> None:
    """Set a new password (from PROMPTIFY_PASSWORD or a prompt); every console session of the
    operator ends."""
    target = _operator_or_exit(email)
    operators.reset_password(target, _new_password(), now=clock.now(), actor=cli_actor())
    click.echo(target.email)


@operator.command("set-role")
@click.argument("email")
@click.argument("role", type=ROLE_CHOICE)
def operator_set_role(email: str, role: str) -> None:
    """Make the operator an admin or an agent; never the last admin an agent."""
    _change(
        email, lambda target: operators.set_role(target, role, now=clock.now(), actor=cli_actor())
    )


@operator.command("disable")
@click.argument("email")
def operator_disable(email: str) -> None:
    """Stop the operator from signing in; never the last active admin."""
    _change(email, lambda target: operators.deactivate(target, now=clock.now(), actor=cli_actor()))


@operator.command("enable")
@click.argument("email")
def operator_enable(email: str) -> None:
    """Let a disabled operator sign in again (their old sessions stay ended)."""
    _change(email, lambda target: operators.activate(target, now=clock.now(), actor=cli_actor()))


def _change(email: str, change: Callable[[Operator], None]) -> None:
    target = _operator_or_exit(email)
    try:
        change(target)
    except operators.OperatorRuleBroken as error:
        raise click.ClickException(str(error)) from None
    click.echo(target.email)


@click.group(cls=AppGroup)
def keys() -> None:
    """Signing keys for signed identification."""


@keys.command("add")
@click.argument("app_id")
@click.argument("pemfile", type=click.File("r"))
def keys_add(app_id: str, pemfile: TextIO) -> None:
    """Add an SPKI public key (PEMFILE, or - for stdin); it becomes current. Prints its thumbprint."""
    target = _workspace_or_exit(app_id)
    try:
        key = keys_service.add_key(target, pemfile.read(20_001), now=clock.now(), actor=cli_actor())
    except KeyRejected as error:
        click.echo(f"key refused: {error.message}", err=True)
        sys.exit(1)
    click.echo(key.thumbprint)


@keys.command("list")
@click.argument("app_id")
def keys_list(app_id: str) -> None:
    """One line per key: thumbprint, key type, status."""
    for entry in keys_service.list_keys(
        _workspace_or_exit(app_id), now=clock.now(), policy=current_policy()
    ):
        status: str = entry.status
        if entry.usable_until is not None:
            status = f"retiring until {entry.usable_until.isoformat(timespec='seconds')}"
        click.echo(f"{entry.key.thumbprint}\t{entry.key.key_type}\t{status}")


@keys.command(
    "revoke", context_settings={"ignore_unknown_options": True}
)  # thumbprints may start with "-"
@click.argument("app_id")
@click.argument("thumbprint")
def keys_revoke(app_id: str, thumbprint: str) -> None:
    """End a key's validity now."""
    try:
        revocation = keys_service.revoke_key(
            _workspace_or_exit(app_id), thumbprint, now=clock.now(), actor=cli_actor()
        )
    except keys_service.UnknownKey as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"revoked {thumbprint}; ended {revocation.sessions_ended} session(s) it verified", err=True
    )


@click.command("demo")
@with_appcontext
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--port", default=5000, show_default=True, help="Console port; the host page uses port + 1."
)
@click.option("--serve", is_flag=True, help="Also serve the console and the demo host page.")
def demo(host: str, port: int, serve: bool) -> None:
    """Create (or refresh) a demo workspace, admin and key pair, and print how to try them.

    The admin's password is generated once into the instance folder and reused on later runs."""
    from promptify.demo import prepare_demo, serve_demo

    prepared = prepare_demo(f"http://{host}:{port}", echo=click.echo, actor=cli_actor())
    if serve:
        serve_demo(prepared, host=host, port=port, echo=click.echo)


@click.command("purge")
@with_appcontext
def purge() -> None:
    """Delete expired jti records, idle widget sessions, stale anonymous contacts without
    conversations, old failures, audit events past their retention (at least a year)."""
    from promptify.services.retention import purge as run_purge

    report = run_purge(now=clock.now(), policy=current_policy())
    click.echo(
        f"jti\t{report.jti}\nsessions\t{report.sessions}\n"
        f"anonymous_contacts\t{report.anonymous_contacts}\nfailures\t{report.failures}\n"
        f"audit_events\t{report.audit_events}"
    )


@click.group(cls=AppGroup)
def mail() -> None:
    """Email notifications."""


@mail.command("send-pending")
def mail_send_pending() -> None:
    """Send the notification emails that are due (for cron); prints what happened."""
    try:
        settings = mail_service.MailSettings.from_config(current_app.config)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    if settings is None:
        raise click.ClickException("PROMPTIFY_SMTP_URL is not set: no email is queued or sent")
    report = mail_service.send_pending(settings, now=clock.now(), policy=current_policy())
    click.echo(f"sent\t{report.sent}\nfailed\t{report.failed}\nskipped\t{report.skipped}")


# --- keeping an installation alive (docs/operations.md, "Backups", "Upgrades", "Doctor") -------


def _backup_to(archive: str) -> None:
    from pathlib import Path

    from promptify.services import backup as backup_service

    try:
        manifest = backup_service.create(
            Path(archive),
            database_url=current_app.config["SQLALCHEMY_DATABASE_URI"],
            instance=Path(current_app.instance_path),
            now=clock.now(),
        )
    except (backup_service.BackupError, OSError) as error:
        raise click.ClickException(f"backup failed: {error}") from None
    click.echo(f"backed up {manifest.backend} (schema {manifest.schema}) to {archive}", err=True)


@click.command("backup")
@with_appcontext
@click.argument("archive", type=click.Path(dir_okay=False, writable=True))
def backup(archive: str) -> None:
    """Write the database and the instance folder to ARCHIVE, while serving."""
    _backup_to(archive)


@click.command("restore")
@with_appcontext
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace a database and instance files that exist.")
def restore(archive: str, force: bool) -> None:
    """Put ARCHIVE's database and instance files in place (stop the servers first)."""
    from pathlib import Path

    from promptify.extensions import db
    from promptify.services import backup as backup_service

    db.engine.dispose()  # no connection of ours holds the database while it is replaced
    try:
        manifest = backup_service.restore(
            Path(archive),
            database_url=current_app.config["SQLALCHEMY_DATABASE_URI"],
            instance=Path(current_app.instance_path),
            force=force,
        )
    except (backup_service.BackupError, OSError) as error:
        raise click.ClickException(f"restore refused: {error}") from None
    click.echo(
        f"restored {manifest.backend} (schema {manifest.schema}) taken {manifest.created_at}; "
        "run `promptify db upgrade` if this release is newer",
        err=True,
    )


@click.command("doctor")
@with_appcontext
@click.option(
    "--processes",
    type=click.IntRange(min=1),
    default=lambda: int(os.environ.get("WEB_CONCURRENCY") or 1),
    help="How many server processes share this installation (default: $WEB_CONCURRENCY or 1).",
)
def doctor(processes: int) -> None:
    """Check what breaks installations; one line per check, non-zero exit on a failure."""
    from pathlib import Path

    from promptify.services import doctor as doctor_service

    installation = doctor_service.Installation(
        config=current_app.config, instance=Path(current_app.instance_path), processes=processes
    )
    verdicts = doctor_service.run(installation)
    for verdict in verdicts:
        click.echo(f"{'ok  ' if verdict.ok else 'FAIL'}  {verdict.name}: {verdict.detail}")
    if not all(v.ok for v in verdicts):
        sys.exit(1)


def _db_group() -> click.Group:
    """Flask-Migrate's `db` commands, with `upgrade --backup FILE`."""
    from flask_migrate.cli import db as migrate_group
    from flask_migrate.cli import upgrade as migrate_upgrade

    from promptify.services.schema import state as schema_state

    group = AppGroup(
        "db",
        params=list(migrate_group.params),
        callback=migrate_group.callback,  # sets what the commands read from flask.g
        help=migrate_group.help,
    )
    for name, command in migrate_group.commands.items():
        group.add_command(command, name)

    @group.command("upgrade", help=migrate_upgrade.help)
    @click.option("--backup", "archive", default=None, help="Back up to this file first.")
    @click.pass_context
    @with_appcontext
    def upgrade(ctx: click.Context, archive: str | None, **options: object) -> None:
        if archive:
            if schema_state(current_app.config["SQLALCHEMY_DATABASE_URI"])[0] == "empty":
                click.echo("nothing to back up yet: the database has no schema", err=True)
            else:
                _backup_to(archive)
        ctx.invoke(migrate_upgrade, **options)

    upgrade.params.extend(p for p in migrate_upgrade.params if p.name != "archive")
    return group
