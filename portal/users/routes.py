"""/api/users: account management for roles with users.manage."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import func, or_, select

from portal.auth import mfa, session_control
from portal.auth.guard import current_user, requires
from portal.auth.models import User
from portal.lookups import get_or_404
from portal.pagination import paginate
from portal.schemas import parse_json, parse_query
from portal.users.schemas import UserCreate, UserQuery, UserUpdate
from portal.users.service import create_user, delete_user, serialize_user, update_user

bp = Blueprint("users_api", __name__, url_prefix="/api/users")


def get_user_or_404(user_id: int) -> User:
    return get_or_404(User, user_id, "user")


def user_query(args: UserQuery):
    query = select(User).order_by(User.username)
    if args.q:
        pattern = f"%{args.q.lower()}%"
        query = query.where(or_(func.lower(User.username).like(pattern),
                                func.lower(User.email).like(pattern)))
    if args.role:
        query = query.where(User.role == args.role)
    if args.active is not None:
        query = query.where(User.is_active.is_(args.active))
    return query


@bp.get("")
@requires("users.manage")
def list_users():
    args = parse_query(UserQuery)
    return jsonify(paginate(user_query(args), args.page, args.per_page, serialize_user))


@bp.post("")
@requires("users.manage")
def create():
    user = create_user(current_user(), parse_json(UserCreate))
    return jsonify(serialize_user(user)), 201


@bp.get("/<int:user_id>")
@requires("users.manage")
def show(user_id: int):
    return jsonify(serialize_user(get_user_or_404(user_id)))


@bp.patch("/<int:user_id>")
@requires("users.manage")
def update(user_id: int):
    user = get_user_or_404(user_id)
    return jsonify(serialize_user(update_user(current_user(), user, parse_json(UserUpdate))))


@bp.delete("/<int:user_id>")
@requires("users.manage")
def delete(user_id: int):
    delete_user(current_user(), get_user_or_404(user_id))
    return "", 204


@bp.delete("/<int:user_id>/mfa")
@requires("users.manage")
def reset_mfa(user_id: int):
    """The user sets up two-factor sign-in again at their next sign-in (auth/mfa.py)."""
    mfa.reset(current_user(), get_user_or_404(user_id))
    return "", 204


@bp.delete("/<int:user_id>/sessions")
@requires("users.manage")
def end_sessions(user_id: int):
    """Every session of the user ends now; their open pages go to sign-in."""
    return jsonify(ended=session_control.end_all_by_admin(current_user(), get_user_or_404(user_id)))
