"""What a user record may look like on the way in."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from portal.auth.passwords import password_problem
from portal.rbac import ROLES
from portal.schemas import Line, PageQuery, Strict

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
_PHONE = re.compile(r"^\+[1-9]\d{6,14}$")


def _username(value: str) -> str:
    value = value.strip().lower()
    if not _USERNAME.match(value):
        raise ValueError("use 3 to 64 letters, digits, dots, dashes or underscores")
    return value


def _email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("is not a valid e-mail address")
    return value


def _phone(value: str | None) -> str | None:
    if value is None:
        return None
    value = re.sub(r"[\s().-]", "", value)
    if value == "":
        return None
    if not _PHONE.match(value):
        raise ValueError("must be in international format, e.g. +256700123456")
    return value


def _password(value: str) -> str:
    problem = password_problem(value)
    if problem:
        raise ValueError(problem)
    return value


Username = Annotated[str, AfterValidator(_username)]
Email = Annotated[str, AfterValidator(_email)]
Phone = Annotated[str | None, AfterValidator(_phone)]
Password = Annotated[str, Field(max_length=200), AfterValidator(_password)]
Role = Literal[ROLES]  # type: ignore[valid-type]


class UserCreate(Strict):
    username: Username
    password: Password
    role: Role
    email: Email
    phone: Phone = None
    is_active: bool = True
    notify_email: bool = True
    notify_sms: bool = False
    daily_digest: bool = False

    @model_validator(mode="after")
    def _sms_needs_phone(self) -> UserCreate:
        if self.notify_sms and not self.phone:
            raise ValueError("phone: is required for SMS notifications")
        return self


SWITCHES = ("is_active", "notify_email", "notify_sms", "daily_digest")


def _no_null_switches(model: Strict) -> None:
    """A switch sent as null would reach the NOT NULL column (a 500): name it instead."""
    for name in SWITCHES:
        if name in model.model_fields_set and getattr(model, name) is None:
            raise ValueError(f"{name}: must be true or false")


class UserUpdate(Strict):
    password: Password | None = None
    role: Role | None = None
    email: Email | None = None
    phone: Phone = None
    is_active: bool | None = None
    notify_email: bool | None = None
    notify_sms: bool | None = None
    daily_digest: bool | None = None

    @model_validator(mode="after")
    def _switches(self) -> UserUpdate:
        _no_null_switches(self)
        return self


class ProfileUpdate(Strict):
    """What users may change about themselves; a new password needs the current one."""

    email: Email | None = None
    phone: Phone = None
    notify_email: bool | None = None
    notify_sms: bool | None = None
    daily_digest: bool | None = None
    current_password: str | None = Field(None, max_length=200)
    new_password: Password | None = None

    @model_validator(mode="after")
    def _switches(self) -> ProfileUpdate:
        _no_null_switches(self)
        return self


class UserQuery(PageQuery):
    q: Line | None = Field(None, max_length=64)
    role: Role | None = None
    active: bool | None = None
