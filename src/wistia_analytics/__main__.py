"""``python -m wistia_analytics`` is the same as the ``wistia-analytics`` command."""

from wistia_analytics.cli import main

main()
