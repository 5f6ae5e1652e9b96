"""The key that signs access tokens, and its public half for whoever verifies them.

Access tokens are real RS256 JWTs with the gateway's `kid` naming, so a client that decodes or
verifies one works as it does against the cloud. The key lives only in memory, like the token
store: no token outlives the process that signed it.
"""

from __future__ import annotations

import threading
import time
from typing import Any

__all__ = ["SigningKey", "jwks", "sign"]


class SigningKey:
    """One RSA key per process, made on first use so that start-up never pays for it."""

    _lock = threading.Lock()
    _key: Any = None
    kid = ""

    @classmethod
    def get(cls) -> Any:
        if cls._key is None:
            with cls._lock:
                if cls._key is None:
                    from cryptography.hazmat.primitives.asymmetric import rsa

                    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                    cls.kid = f"InforAccessTokenSigningCertificate-{int(time.time())}"
                    cls._key = key
        return cls._key


def jwks() -> dict[str, Any]:
    """The public half of the signing key as a JWK Set, to verify access tokens."""
    from jwt.algorithms import RSAAlgorithm

    key = SigningKey.get()
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update({"kid": SigningKey.kid, "use": "sig", "alg": "RS256"})
    return {"keys": [jwk]}


def sign(claims: dict[str, Any]) -> str:
    import jwt

    key = SigningKey.get()
    return jwt.encode(claims, key, algorithm="RS256", headers={"typ": None, "kid": SigningKey.kid})
