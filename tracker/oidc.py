"""OpenID Connect clients for the agencies' identity providers, through Authlib's Flask client.

Providers are data an admin edits, so each one's Authlib client is registered lazily, in a
registry each app keeps (Authlib's OAuth registry), named by provider id and version: an edited
provider gets a new client, and an old client is never used again. Discovery metadata and the
provider's keys (JWKS) are fetched by Authlib, the keys again when a token names a key not seen
before (the provider rotated them).

Authlib validates the ID token at sign-in (signature against the JWKS, iss, aud, exp, iat and the
nonce it sent, with PKCE S256 and state). The back-channel logout token is validated here with
joserfc (Authlib's JOSE library) against the same keys, per OpenID Connect Back-Channel
Logout 1.0, section 2.6.
"""

from __future__ import annotations

import time
from typing import Any

from authlib.integrations.flask_client import FlaskOAuth2App, OAuth
from flask import Flask
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from tracker.models import IdentityProvider
from tracker.services import settings

EXTENSION = "tracker.oidc"
# offline_access: a refresh token, so the tracker can ask the provider whether the account is live.
SCOPE = "openid email profile offline_access"
BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
# A logout token older than this is refused (the spec lets the relying party choose).
LOGOUT_TOKEN_MAX_AGE_SECONDS = 600
CLOCK_LEEWAY_SECONDS = 120


class ProviderError(ValueError):
    """A provider's answer the tracker does not accept; the message says which check failed."""


class LogoutTokenError(ProviderError):
    """A logout token the tracker does not accept."""


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = OAuth(app)


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def client_for(provider: IdentityProvider) -> FlaskOAuth2App:
    registry: OAuth = settings.extension(EXTENSION)
    name = f"provider_{provider.id}_v{provider.version}"
    client = registry.create_client(name)
    if client is None:
        client = registry.register(
            name,
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            server_metadata_url=discovery_url(provider.issuer),
            client_kwargs={
                "scope": SCOPE,
                "code_challenge_method": "S256",
                "default_timeout": settings.get("IDENTITY_TIMEOUT_SECONDS"),
            },
        )
    return client


def id_token_claims_options(provider: IdentityProvider) -> dict[str, Any]:
    """What Authlib checks beyond the signature, nonce, exp and iat: the issuer the admin
    configured (not merely whatever the discovery document says), this client among the
    audiences (Authlib checks aud only when told to: by default it checks azp alone, which a
    token for another client can carry), and a subject."""
    return {
        "iss": {"essential": True, "values": [provider.issuer]},
        "aud": {"essential": True, "value": provider.client_id},
        "sub": {"essential": True},
    }


def check_discovery(provider: IdentityProvider) -> None:
    """The discovery document must be the configured issuer's own (OpenID Connect Discovery
    section 4.3), or every later check would trust the wrong party."""
    metadata = client_for(provider).load_server_metadata()
    if metadata.get("issuer") != provider.issuer:
        raise ProviderError(
            f"the discovery document names issuer {metadata.get('issuer')!r},"
            f" not {provider.issuer!r}"
        )


def refresh(provider: IdentityProvider, refresh_token: str) -> dict[str, Any]:
    """Ask the provider for fresh tokens; it refuses (OAuthError) when the account is switched
    off or the grant revoked."""
    # scope=None: no scope parameter, so the grant stays what was consented (RFC 6749 section 6);
    # Authlib would otherwise send the client's scope, which a provider may refuse as wider.
    return dict(
        client_for(provider).fetch_access_token(
            grant_type="refresh_token", refresh_token=refresh_token, scope=None
        )
    )


def _decode(provider: IdentityProvider, token: str):
    client = client_for(provider)
    metadata = client.load_server_metadata()
    algorithms = [
        alg
        for alg in metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        if alg != "none"
    ]
    registry = JWSRegistry(algorithms=algorithms, strict_check_header=False)
    try:
        return jwt.decode(token, KeySet.import_key_set(client.fetch_jwk_set()), registry=registry)
    except InvalidKeyIdError:  # a key the provider added since: read its keys again
        return jwt.decode(
            token, KeySet.import_key_set(client.fetch_jwk_set(force=True)), registry=registry
        )


def validate_logout_token(provider: IdentityProvider, logout_token: str) -> dict[str, Any]:
    """The claims of a valid logout token: signed by the provider's key, from its issuer, for
    this client, recent, with the back-channel logout event, a sub or sid, and no nonce."""
    if not logout_token or len(logout_token) > 16_000:
        raise LogoutTokenError("no logout token, or one too long")
    try:
        token = _decode(provider, logout_token)
    except (JoseError, ValueError, TypeError, KeyError, RuntimeError) as error:
        # A malformed token, a bad signature, or keys the provider does not publish properly.
        raise LogoutTokenError(f"signature or format: {error}") from None
    if token.header.get("typ") not in (None, "logout+jwt", "JWT"):
        raise LogoutTokenError("typ is not logout+jwt")
    claims = token.claims
    try:
        jwt.JWTClaimsRegistry(
            leeway=CLOCK_LEEWAY_SECONDS,
            iss={"essential": True, "value": provider.issuer},
            aud={"essential": True, "value": provider.client_id},
            iat={"essential": True},
        ).validate(claims)
    except JoseError as error:
        raise LogoutTokenError(f"claims: {error}") from None
    if time.time() - claims["iat"] > LOGOUT_TOKEN_MAX_AGE_SECONDS:
        raise LogoutTokenError("issued too long ago")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_LOGOUT_EVENT), dict):
        raise LogoutTokenError("no back-channel logout event")
    if "nonce" in claims:
        raise LogoutTokenError("a logout token must not carry a nonce")
    sub, sid = claims.get("sub"), claims.get("sid")
    if not (isinstance(sub, str) and sub) and not (isinstance(sid, str) and sid):
        raise LogoutTokenError("neither sub nor sid")
    return claims
