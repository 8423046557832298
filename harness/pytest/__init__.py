"""The pytest layer, the only part of the harness that imports pytest: plugin, run context, items, hookspecs, Allure."""
