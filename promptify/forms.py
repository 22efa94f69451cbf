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
from wtforms.validators import DataRequired, Email, Length

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
        "Reply", validators=[DataRequired(message="Write a reply first."), Length(max=10_000)]
    )


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
