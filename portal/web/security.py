"""What every response carries for the browser's protection: the content security
policy, HSTS over https, no-store for everything but static files, the other security
headers, and the CSRF value forms echo."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, g, make_response, request
from flask_jwt_extended import decode_token, get_jwt

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-src 'self'{frames}; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'; object-src 'none'"
)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy(*frame_sources: str | None) -> str:
    """The policy for every response; pages that embed Grafana add its origin to frame-src
    (an origin, because a source with a path matches that one path only)."""
    origins = dict.fromkeys(filter(None, (_origin(url) for url in frame_sources if url)))
    return CONTENT_SECURITY_POLICY.format(frames="".join(f" {origin}" for origin in origins))


def framed(html: str, grafana_base: str | None):
    """A page that embeds Grafana lets its origin into frame-src; others keep the default."""
    response = make_response(html)
    if grafana_base:
        response.headers["Content-Security-Policy"] = content_security_policy(
            current_app.config["SERVERMON"].grafana_url, grafana_base)
    return response


def _allowed_hosts() -> set[str]:
    return {urlsplit(current_app.config["SERVERMON"].portal_url).netloc, request.host}


def from_this_site(*, origin_required: bool = False) -> bool:
    """Whether a browser sent this request from the portal's own pages: its Origin is the
    portal's, and Sec-Fetch-Site does not say another site. A request with neither header
    is not a browser's cross-site one (browsers send Origin on every POST and WebSocket);
    ``origin_required`` refuses it anyway, for the WebSocket."""
    origin = request.headers.get("Origin")
    if request.headers.get("Sec-Fetch-Site") in ("cross-site", "same-site"):
        return False
    if not origin:
        return not origin_required
    return urlsplit(origin).netloc in _allowed_hosts()


def csrf_token() -> str:
    """The double-submit value forms must echo; after an implicit refresh, the new token's."""
    fresh = g.get("refreshed_access_token")
    if fresh:
        return decode_token(fresh).get("csrf", "")
    try:
        return get_jwt().get("csrf", "")
    except RuntimeError:
        return ""


def add_security_headers(app: Flask) -> None:
    """Headers every response carries unless its view set its own (say, a wider CSP)."""
    from portal.auth.sessions import apply_cookie_refresh

    config = app.config["SERVERMON"]
    policy = content_security_policy(config.grafana_url)
    https = config.portal_url.startswith("https://")
    static = app.static_url_path.rstrip("/") + "/"

    @app.after_request
    def _security_headers(response):
        response = apply_cookie_refresh(response)
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if https:
            # A year, as browsers' preload lists ask; the portal is never meant over http.
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if not request.path.startswith(static):
            # Pages, API answers and exports hold staff and server data: no shared cache or
            # browser history keeps them. Only the portal's own CSS and JS are cacheable.
            response.headers.setdefault("Cache-Control", "no-store")
        return response
