"""Second factors: TOTP, security keys and passkeys, recovery codes, re-authentication."""
