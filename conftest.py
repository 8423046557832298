"""The project's own tests use pytester; the harness plugin and the embedded server come from their entry points."""

pytest_plugins = ["pytester"]
