"""The eight feature groups; each module's ``default_indicators()`` is its part of the default set."""
