"""The stack's typed, pure plan (``planning.stack_plan``): below the rules, which judge it, and above
cost, the renderers and sizing, whose decisions it makes once each."""
