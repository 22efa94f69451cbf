"""Pure identification domain: payload rules, merge planning, key checks, token verification.

Nothing here imports Flask or the database; time is always passed in as an argument.
"""
