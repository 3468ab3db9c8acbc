"""Critical projects: who must use two-factor authentication, why, and from when."""
