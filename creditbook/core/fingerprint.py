"""The fingerprint binding an evaluated application to the policy and prices it was decided under."""

from __future__ import annotations

import hashlib

from creditbook.core.hashing import content_hash
from creditbook.core.models import Application
from creditbook.core.policy import Policy
from creditbook.core.prices import PriceTable


def audit_hashes(app: Application, policy: Policy, prices: PriceTable) -> tuple[str, str]:
    """(application hash, fingerprint of application + policy + prices)."""
    app_hash = content_hash(app)
    joined = f"{app_hash}:{policy.content_hash()}:{prices.content_hash()}"
    return app_hash, hashlib.sha256(joined.encode()).hexdigest()
