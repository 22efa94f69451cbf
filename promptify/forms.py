"""Flask-WTF form classes only: fields and cheap validators; the rules live in the services."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length

from promptify.models import Role

# WTForms 3.3 deprecates plain tuples as choices.
ROLE_CHOICES = [SelectChoice(role.value, role.value.capitalize()) for role in Role]


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField("Keep me signed in")


class KeyForm(FlaskForm):
    pem = TextAreaField(
        "Public key (SPKI PEM)",
        validators=[
            DataRequired(message="Paste a -----BEGIN PUBLIC KEY----- block."),
            Length(max=20_000),
        ],
    )


class RevokeKeyForm(FlaskForm):
    thumbprint = StringField(validators=[DataRequired(), Length(max=64)])
    confirm = BooleanField("I understand tokens signed with this key stop working now")


class RequireJwtForm(FlaskForm):
    require_jwt = BooleanField("Require signed identification")


class TokenTesterForm(FlaskForm):
    token = TextAreaField(
        "JWT to test", validators=[DataRequired(message="Paste a token."), Length(max=70_000)]
    )


class OriginsForm(FlaskForm):
    origins = TextAreaField("Allowed origins (one per line)", validators=[Length(max=20_000)])


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that post."""


class ReplyForm(FlaskForm):
    body = TextAreaField(
        "Reply",
        validators=[DataRequired(message="Write a reply first."), Length(max=10_000)],
        id="reply-body",  # the label points at it; console.js focuses it on "r"
    )


class NoteForm(FlaskForm):
    """A private note in a conversation: operators see it, the visitor never does."""

    note = TextAreaField(
        "Private note",
        validators=[
            DataRequired(message="Write a note first."),
            Length(max=10_000, message="A note can be at most 10,000 characters long."),
        ],
        id="note-body",
    )


class AssignForm(FlaskForm):
    """The assignee: an operator id, or empty to unassign (checked by the view and service)."""

    assignee = StringField("Assignee")


class OperatorCreateForm(FlaskForm):
    email = EmailField(
        "Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=320)]
    )
    name = StringField("Name", validators=[Length(max=255)])
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.AGENT.value)
    password = PasswordField(
        "Initial password", validators=[DataRequired(), Length(min=8, max=1024)]
    )


class OperatorRoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


def _stripped(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


class DisplayNameForm(FlaskForm):
    name = StringField(
        "Display name",
        filters=[_stripped],
        validators=[Length(max=255, message="The display name may have at most 255 characters.")],
    )


class NotificationsForm(FlaskForm):
    notify_email = BooleanField("Email me when a visitor's message waits unread")


class TimeZoneForm(FlaskForm):
    time_zone = StringField(
        "Time zone",
        filters=[_stripped],
        validators=[Length(max=64, message="A time zone name has at most 64 characters.")],
    )


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired(message="Enter your current password."), Length(max=1024)],
    )
    new_password = PasswordField(
        "New password",
        validators=[
            DataRequired(message="Enter a new password."),
            Length(min=8, max=1024, message="The new password needs 8 to 1,024 characters."),
        ],
    )
    confirm_password = PasswordField(
        "New password again",
        validators=[EqualTo("new_password", message="The two new passwords differ.")],
    )


class TwoFactorCodeForm(FlaskForm):
    """A code from the authenticator app (six digits) or, when signing in, a recovery code."""

    code = StringField(
        "Code",
        filters=[_stripped],
        validators=[
            DataRequired(message="Enter the code your authenticator app shows."),
            Length(max=64, message="Enter the 6-digit code or a recovery code."),
        ],
    )


class TwoFactorCredentialForm(FlaskForm):
    """What turning two-factor sign-in off, or making new recovery codes, asks for."""

    credential = PasswordField(
        "A current code from your authenticator app, or your password",
        validators=[
            DataRequired(message="Enter a current code or your password."),
            Length(max=1024),
        ],
    )


class RequireTwoFactorForm(FlaskForm):
    require_two_factor = BooleanField("Require two-factor sign-in for everyone")
