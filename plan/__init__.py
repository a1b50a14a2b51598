"""The stack's typed, pure plan (``plan.stack_plan``): below the rules, which judge it, and above the
renderers and sizing, which it calls once each."""
